// Package ode solves dy/dt = f(t, y) with explicit Runge-Kutta methods for
// many independent rows at once. It knows nothing of diffusion.
//
// # Rows
//
// y0 holds n rows of dim values each (row-major). Every row is its own
// problem with its own time, step size, controller memory, error control,
// dense output and statistics, while the vector field is called on blocks of
// rows (each row at its own time), so that a network can evaluate many rows
// in one call. Options.Joint instead solves the flattened batch as one
// problem (one step size, one error norm over all n*dim components), which is
// what scipy's solve_ivp(RK45) does to a flattened batch; it exists for
// comparison. Options.Workers splits the rows over goroutines; a row's result
// depends only on the row, so results are bit-identical for every worker
// count and block size (joint sums are reduced in row order).
//
// # Runge-Kutta step
//
// A tableau (A, b, c) with s stages advances (t, y) by h:
//
//	k_i   = f(t + c_i h, y + h sum_{j<i} a_ij k_j),   i = 1..s
//	y_new = y + h sum_i b_i k_i
//
// An embedded pair b^ gives the local error estimate
//
//	e = h sum_i (b_i - b^_i) k_i,
//
// and the step is accepted when the scaled RMS norm
//
//	err = sqrt( (1/N) sum_m (e_m / sc_m)^2 ),   sc_m = atol + rtol max(|y_m|, |y_new,m|),
//
// is below 1 (N = dim for a row, n*dim in Joint mode). FSAL tableaux
// (Bogacki-Shampine, Dormand-Prince, Tsitouras, DOP853) reuse
// k_s = f(t+h, y_new) as the next k_1. DOP853 uses Hairer's combination of
// a 5th-order estimate e5 and a 3rd-order estimate e3 (HNW I, II.10):
//
//	err = |h| ||e5||^2 / sqrt(N (||e5||^2 + 0.01 ||e3||^2)),
//
// with ||.||^2 the sum of squares of the scaled components.
//
// # Step-size control
//
// With k = q + 1 (q the order the controller assumes for the estimate,
// Tableau.EmbeddedOrder) the PID controller of Söderlind (2002, 2003)
// proposes after an accepted step
//
//	h_{n+1} = h_n clamp(safety err_n^(-b1) err_{n-1}^(-b2) err_{n-2}^(-b3), facmin, facmax)
//	b1 = (kP + kI + kD)/k,  b2 = -(kP + 2 kD)/k,  b3 = kD/k,
//
// which is the elementary (I) controller h_{n+1} = h_n safety err_n^(-1/k)
// for kI = 1, kP = kD = 0 (the default, as in scipy and Hairer's codes
// without stabilisation). A rejected step retries with
// h_n max(facmin, safety err_n^(-1/k)), and the step after a rejection does
// not grow. A step never falls below max(DtMin, 10 ulp(t)): a rejection at
// that size is ErrStepUnderflow (or a *NonFiniteError when the trial states
// were not finite). The constant-step controller (Options.Steps, or Dt0
// for a tableau without an embedded pair) takes equal steps with no error
// estimate. Integration runs forward or backward (t1 < t0).
//
// # Initial step
//
// Hairer's starting step (HNW I, II.4, as in scipy's select_initial_step),
// with norms as above and sc_m = atol + rtol |y0_m|:
//
//	d0 = ||y0||, d1 = ||f(t0, y0)||
//	h0 = 0.01 d0/d1 (1e-6 if d0 or d1 < 1e-5), capped at |t1 - t0|
//	d2 = ||f(t0 + h0, y0 + h0 f0) - f0|| / h0
//	h1 = (0.01 / max(d1, d2))^(1/k) (max(1e-6, 1e-3 h0) if d1, d2 <= 1e-15)
//	h  = min(100 h0, h1, |t1 - t0|, DtMax)
//
// It costs one extra evaluation per row (f0 is the first stage).
//
// # Dense output
//
// Inside an accepted step the continuous extension is
//
//	y(t + theta h) = y + h sum_i b_i(theta) k_i,   0 <= theta <= 1,
//
// with polynomial weights b_i (Tableau.Interp): Shampine's quartic for
// Dormand-Prince (local error O(h^5)), Tsitouras' quartic (O(h^5)), Hairer's
// degree-7 extension for DOP853 with three extra stages computed only for
// steps that contain output times (O(h^8)), and the cubic Hermite
// interpolant through y, f(t,y), y_new, f(t+h,y_new) for the others
// (O(h^4), or the method's own order if lower; for tableaux that are not
// FSAL the end derivative is an extra stage, reused as the next k_1).
//
// # Failures
//
// Run-time failures are returned errors: *RowError wrapping ErrMaxSteps or
// ErrStepUnderflow, *NonFiniteError (errors.Is ErrNonFinite) naming the row
// and the time, and cancellation through the context, always with the
// partial Result (each row's state and time where it stopped). In per-row
// mode a failing row stops alone and the other rows finish. Programmer
// errors (dim <= 0, len(y0) not a multiple of dim, a nil Func) panic.
//
// # Sources
//
//   - E. Hairer, S. P. Nørsett, G. Wanner, Solving Ordinary Differential
//     Equations I: Nonstiff Problems, 2nd ed., Springer 1993: order
//     conditions (II.2), error estimation, initial step and step control
//     (II.4), dense output (II.6), DOP853 (II.10) and its Fortran code.
//   - J. R. Dormand, P. J. Prince, A family of embedded Runge-Kutta formulae,
//     J. Comput. Appl. Math. 6 (1980) 19-26; L. F. Shampine, Some practical
//     Runge-Kutta formulas, Math. Comp. 46 (1986) 135-150 (the interpolant).
//   - Ch. Tsitouras, Runge-Kutta pairs of order 5(4) satisfying only the
//     first column simplifying assumption, Comput. Math. Appl. 62 (2011)
//     770-775.
//   - P. Bogacki, L. F. Shampine, A 3(2) pair of Runge-Kutta formulas, Appl.
//     Math. Lett. 2 (1989) 321-325.
//   - G. Söderlind, Automatic control and adaptive time-stepping, Numer.
//     Algorithms 31 (2002) 281-310; Digital filters in adaptive
//     time-stepping, ACM Trans. Math. Softw. 29 (2003) 1-26.
//   - T. E. Hull, W. H. Enright, B. M. Fellen, A. E. Sedgwick, Comparing
//     numerical methods for ordinary differential equations, SIAM J. Numer.
//     Anal. 9 (1972) 603-637 (the DETEST problems used in the tests).
//
// The tests check every tableau against Butcher's order conditions (all
// rooted trees up to the order, for b, b^ and the continuous extension),
// fit convergence orders, and run the non-stiff DETEST problems A1-A5,
// B1-B5 and D1-D5 against closed forms and cross-checked references.
package ode
