// Package likelihood computes exact log-likelihoods of score-based diffusion
// models through the probability-flow ODE, converts them to bits/dim under a
// declared data convention, and evaluates the discrete variational bound of
// DDPM.
//
// # The probability flow and the instantaneous change of variables
//
// A forward SDE dx = f(x, t) dt + g(t) dw with f(x, t) = a(t) x has marginals
// p_t. The probability-flow ODE
//
//	dx/dt = F(x, t) = a(t) x - g(t)^2/2 s(x, t),   s = grad_x log p_t,
//
// moves points so that a sample of p_t at time t stays a sample of p_t at every
// later time (Song et al. 2021, section 4.3 and appendix D.1). Along a
// solution x(t), the instantaneous change of variables (Chen et al. 2018,
// theorem 1) gives
//
//	d/dt log p_t(x(t)) = -div F(x(t), t),
//	div F = a(t) D - g(t)^2/2 tr(ds/dx).
//
// Integrating from Eps to T and writing delta(t) for the integral of div F
// from Eps to t,
//
//	log p_Eps(x(Eps)) = log p_T(x(T)) + delta(T).
//
// The sign: where the flow expands volume (div F > 0) going forward, density
// falls, so the density at the start is the density at the end plus the
// accumulated divergence. The package integrates the augmented state
// [x; delta] (delta(Eps) = 0) forward from Eps to T; asking for T -> Eps, the
// sampling direction, is an error. log p_T is replaced by the prior pi
// (sde.PriorLogProb), which is what a model can evaluate:
//
//	log p_Eps(x) ~= log pi(x(T)) + delta(T).
//
// Which density this is: the marginal p_Eps of the forward process at time
// Eps (default 1e-5), not the data distribution p_0. For VE, p_Eps is the data
// convolved with N(0, sigma(Eps)^2 I) (sigma(Eps) ~= sigma_min = 0.01); for VP
// and sub-VP it is the data scaled by c(Eps) and convolved with a small
// Gaussian. The error of the answer has two parts: the solver's, controlled by
// RTol and ATol, and the prior mismatch log pi(x_T) - log p_T(x_T), which no
// solver removes. Measured over 200 points of p_0 (TestOracle), the mean
// |prior mismatch| is 2.5e-4 nats for gmm8 under VP, 3e-3 for gauss:2 and
// 1.5e-2 for gauss:64 (it grows with D), and 4e-2 for gauss:64 under VE;
// the solver error at rtol = atol = 1e-5 is 1e-5 to 9e-4 nats.
//
// Every point is its own adaptive solve (ode's per-row mode): its step sizes,
// its answer and its cost depend only on the point, its global row index and
// the seed, never on its batch (Config.Joint gives the reference
// implementation's flattened solve, one step size for the whole batch, for
// comparison).
//
// # The divergence
//
// Exact: tr(ds/dx) from TraceScore when the score has it (the Gaussian-mixture
// oracle does), otherwise the sum of e_j^T (ds/dx) e_j over the D unit
// vectors, which costs D vector-Jacobian products per evaluation.
//
// Hutchinson (Hutchinson 1989; Grathwohl et al. 2019, FFJORD): for a random
// v with E[v v^T] = I, E[v^T J v] = tr J. Rademacher probes (entries +-1)
// have variance 2 sum_{i!=j} J_ij^2 for symmetric J (exact when J is
// diagonal, as for the gauss:D problem); Gaussian probes have 2 ||J||_F^2.
// The probe is drawn once per point and kept for the whole solve (redrawing
// it per step would make the vector field random and the adaptive solver
// meaningless): delta(T) is linear in the estimate, so
// integral v^T J(t) v dt = v^T (integral J dt) v is an unbiased estimate of
// the exact delta, and log p is unbiased (p itself is not, by Jensen). With
// K probes the state is [x; delta_1 .. delta_K]: the x path does not depend on
// the probe, so one solve carries K estimates, reported as their mean and
// standard error. Probe k of point r is values [k D, (k+1) D) of the stream
// rng.New(seed, r, rng.Probe).
//
// Each evaluation of the augmented field costs one score evaluation and K
// vector-Jacobian products (or one trace, or D products). A score that also
// implements FusedScore gives the score and the first product in one pass,
// which for a network saves a forward pass: one forward and one backward
// pass per evaluation instead of two forwards and a backward. With the exact
// divergence, FusedTraceScore does the same for the score and the D
// products (score.Net has both; model.MLP's fused passes are
// model.ForwardVJPer and model.ForwardTracer).
//
// # Bits per dimension
//
// Data are Bits-bit integers k stored as x = Lo + (Hi - Lo) k/(2^Bits - 1).
// Integer k owns the bin [Lo + (Hi - Lo) k/2^Bits, Lo + (Hi - Lo)(k+1)/2^Bits)
// of width w = (Hi - Lo)/2^Bits (the bins tile [Lo, Hi); this is the score-SDE
// code's (255 x + u)/256 for images in [0, 1], then rescaled). The model's
// probability of the integer vector is the mass of its box, and by Jensen
// with u ~ U[0, 1)^D (Theis et al. 2016, section 3.1)
//
//	-log2 P(k) = -log2 integral_box p  <=  E_u[-log2 p(Lo + w (k + u))] - D log2 w,
//
// so the bits/dim bound is
//
//	bpd = -log p(x~)/(D ln 2) + Offset,   Offset = Bits - log2(Hi - Lo),
//
// at a dequantised point x~. Offset is 7 for 8-bit data on [-1, 1] and 8 on
// [0, 1], the values of the score-SDE code (its "8 + log2 of the derivative
// of the inverse scaler"). A density uniform on [-1, 1]^D has log p = -D ln 2
// and gives 1 + 7 = 8 bits/dim, the code length of uniform 8-bit data.
// Dequant "uniform" averages over Repeats draws of u (reporting the mean and
// its standard error); Dequant "none" evaluates at the grid points themselves,
// which is not a code length and can go below zero (a density may peak at the
// grid). DataSpec.String states the choice for the output.
//
// The alternative convention is DDPM's discrete decoder (below): no
// dequantisation, a model of the 8-bit values themselves.
//
// # The discrete variational bound of DDPM
//
// With the DDPM schedule beta_t, alpha_t = 1 - beta_t, alpha-bar_t the running
// product (t = 1..N; discretize.FromVP), q(x_t | x_0) =
// N(sqrt(alpha-bar_t) x_0, (1 - alpha-bar_t) I) and the bound (Ho et al. 2020,
// eq. 5; Sohl-Dickstein et al. 2015)
//
//	-log p(x_0) <= L_T + sum_{t=2..N} L_{t-1} + L_0,
//	L_T     = KL(q(x_N | x_0) || N(0, I)),
//	L_{t-1} = E_q KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)),
//	L_0     = E_q [-log p(x_0 | x_1)],
//
// with the posterior q(x_{t-1} | x_t, x_0) = N(mu~, beta-tilde_t I),
// mu~ = sqrt(alpha-bar_{t-1}) beta_t/(1 - alpha-bar_t) x_0
// + sqrt(alpha_t)(1 - alpha-bar_{t-1})/(1 - alpha-bar_t) x_t,
// beta-tilde_t = beta_t (1 - alpha-bar_{t-1})/(1 - alpha-bar_t), and the model
// p(x_{t-1} | x_t) = N(mu, sigma_t^2 I),
// mu = (x_t - beta_t/sqrt(1 - alpha-bar_t) eps(x_t, t))/sqrt(alpha_t) (eq. 11).
// An sde.Score on the VP SDE is read as an epsilon-model by
// eps(x, t) = -sqrt(1 - alpha-bar_t) s(x, t_i), t_i = t/N, the discrete
// convention of the score-SDE code, so that mu = (x_t + beta_t s)/sqrt(alpha_t).
// Each KL is in closed form; the expectation over x_t is estimated with one
// draw per step (unbiased). L_0 is either the discrete decoder (eq. 13): each
// coordinate's N(mu, sigma_1^2) mass over [x - 1/255, x + 1/255], the edge
// bins opened to -inf and +inf, a code length of 8-bit data on [-1, 1]; or a
// continuous Gaussian decoder N(x_0; mu, sigma_1^2 I). sigma_t^2 is beta_t or
// beta-tilde_t; beta-tilde_1 = 0, so sigma_1^2 = beta-tilde_2 there, as in Ho
// et al.'s code.
//
// When the bound is tight. Take 1-D data N(0, 1) and sigma_t^2 = beta_t. The
// chain x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) z is then a stationary
// AR(1): x_{t-1} ~ N(0, 1) gives x_t ~ N(0, alpha_t + beta_t) = N(0, 1).
// (x_{t-1}, x_t) is bivariate normal with unit variances and correlation
// sqrt(alpha_t), symmetric in its arguments, so the chain is reversible and
// q(x_{t-1} | x_t) = N(sqrt(alpha_t) x_t, beta_t). The VP marginals of N(0, 1)
// are N(0, 1) for every t, so s(x, t) = -x and eps = sqrt(1 - alpha-bar_t) x_t,
// which is E[eps | x_t] (x_t = sqrt(alpha-bar) x_0 + sqrt(1 - alpha-bar) eps
// with unit variance): the Bayes-optimal epsilon. The model mean is
// (x_t - beta_t x_t)/sqrt(alpha_t) = sqrt(alpha_t) x_t, so with
// sigma_t^2 = beta_t every model kernel, the Gaussian decoder included, equals
// q(x_{t-1} | x_t), and the prior N(0, 1) equals q(x_N). Hence
// p(x_{0:N}) = q(x_{0:N}), p(x_0) = q(x_0), and the gap of the bound,
// E_q KL(q(x_{1:N} | x_0) || p(x_{1:N} | x_0)), is zero: the expected bound is
// exactly -log N(x_0; 0, 1) = (x_0^2 + log 2 pi)/2 for every x_0. (The terms
// are not zero one by one, and a one-draw estimate still has variance; only
// the sum of their expectations is the negative log-likelihood.)
//
// # Sources
//
//   - Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole,
//     "Score-based generative modeling through stochastic differential
//     equations", ICLR 2021 (arXiv 2011.13456), section 4.3 and appendix D.
//   - R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud, "Neural
//     ordinary differential equations", NeurIPS 2018 (instantaneous change of
//     variables).
//   - W. Grathwohl, R. T. Q. Chen, J. Bettencourt, I. Sutskever, D. Duvenaud,
//     "FFJORD: free-form continuous dynamics for scalable reversible
//     generative models", ICLR 2019 (Hutchinson estimator with a probe fixed
//     per solve).
//   - M. F. Hutchinson, "A stochastic estimator of the trace of the influence
//     matrix for Laplacian smoothing splines", Comm. Stat. Simul. Comput. 18,
//     1989.
//   - J. Ho, A. Jain, P. Abbeel, "Denoising diffusion probabilistic models",
//     NeurIPS 2020 (arXiv 2006.11239), eq. 5 (the bound), eq. 11 (the mean),
//     eq. 13 (the discrete decoder).
//   - L. Theis, A. van den Oord, M. Bethge, "A note on the evaluation of
//     generative models", ICLR 2016 (uniform dequantisation bounds the
//     discrete log-likelihood).
//   - J. Sohl-Dickstein, E. Weiss, N. Maheswaranathan, S. Ganguli, "Deep
//     unsupervised learning using nonequilibrium thermodynamics", ICML 2015.
package likelihood
