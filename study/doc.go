// Package study measures samplers against exact answers: with an exact
// score (score.Mixture) the true error of a sampler is known, not a proxy.
//
// Order runs a deterministic sampler on a one-component Gaussian (gauss:D)
// for a list of step counts and compares each sample with the exact
// probability-flow map of its own prior draw (score.Mixture.FlowTo): the
// global error e(N) ~ C N^-p gives the order p as the least-squares slope of
// -log e against log N.
//
// Frontier runs a list of sampler specs at a list of step counts on an exact
// problem and reports, per run, the evaluations per sample, the path error
// (each sample against its own prior draw pushed through the exact flow:
// FlowTo for one Gaussian, DOP853 at rtol = atol = 1e-10 otherwise), the
// sample metrics against p_0, and for one Gaussian the exact KL divergence
// of the output law: every fixed-step sampler is affine in its noise draws
// there, x = b + sum_k G_k z_k coordinate by coordinate, and running it with
// impulse noise (draw k equal to 1, the others 0) gives b and each G_k
// (gausskl.go). docs/samplers.md is this study for the built-in samplers.
//
// For stochastic samplers, StrongOrder measures the RMS distance to the same
// sampler with 16 times the steps on the same Brownian path (the tree), and
// WeakOrder the exact error of the output's mean and variance against the
// reverse SDE's own law at eps (ReverseSDEGaussian), from the affine output
// law, without Monte Carlo.
package study
