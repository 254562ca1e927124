// Package planar holds the two loops of the score of a planar (D = 2)
// Gaussian mixture whose components share one diagonal covariance (gmm8),
// for a block of rows, each with its own marginal scale and standard
// deviation: rows at their own times (the adaptive probability-flow ODE
// sampler, where the score is most of the solver's work) or all at one time
// (the SDE samplers).
//
// For row i with marginal mean scale c and standard deviation s at its time,
// component k with data mean mu_k and data variances var_0, var_1, weight w_k:
//
//	v_j    = c^2 var_j + s^2                    (j = 0, 1; the same for all k)
//	l_k    = log w_k - (x_0 - c mu_k0)^2 / (2 v_0) - (x_1 - c mu_k1)^2 / (2 v_1)
//	r_k    = e^(l_k - max_k l_k)                (the caller's exp pass)
//	score_j = sum_k r_k (c mu_kj - x_j) / v_j / sum_k r_k
//
// LogWeights computes 1/v_j and the l_k with their maximum; Scores the
// score from the r_k. The log det of v and the normalising constant are the
// same for every component, so they cancel in r_k and are never formed.
//
// Each function has an AVX2 kernel (4 rows in the 4 lanes of a register) and
// a pure-Go loop (the kernel's tail, CPUs without AVX2, -tags purego). Both
// round every product, difference and quotient once, in the same order, with
// no fused multiply-add (the Go loops convert each product to float64, which
// keeps the compiler from fusing it even with GOAMD64=v3), so the two give
// the same bits and a row's result does not depend on its place in the
// block. The maximum is NaN when any l_k is NaN, as Go's max is.
package planar
