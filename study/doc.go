// Package study measures samplers against exact answers: with an exact
// score (score.Mixture) the true error of a sampler is known, not a proxy.
//
// Order runs a deterministic sampler on a one-component Gaussian (gauss:D)
// for a list of step counts and compares each sample with the exact
// probability-flow map of its own prior draw (score.Mixture.FlowTo): the
// global error e(N) ~ C N^-p gives the order p as the least-squares slope of
// -log e against log N.
package study
