// Package examples shows, from outside the library's packages, how a
// researcher extends sdekit: each file's Example function (run and checked
// by go test) defines a piece of its own and uses it with the toolkit's
// drivers.
//
//   - Example_customSampler: a sampler of one's own (Heun's method on the
//     probability-flow ODE with a fixed step), one type on the shared driver
//     of package sample, registered by name.
//   - Example_multistepSampler: a multistep method (two-step
//     Adams-Bashforth on the probability flow) that keeps its past
//     evaluations between steps.
//   - Example_customScore: a score of one's own (the exact score of a
//     one-dimensional Gaussian under any SDE) sampled by the built-in
//     samplers.
//   - Example_customSDE: an SDE of one's own (a variance-preserving SDE on
//     the cosine schedule of Nichol and Dhariwal 2021), registered, trained
//     for a few hundred steps, saved, loaded and sampled.
package examples
