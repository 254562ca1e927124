// Package nb is the plain, notebook-facing API of sdekit: short functions
// that run one experiment and return its numbers and its pictures, so that a
// notebook cell is a line or two of glue code.
//
// The notebooks in notebooks/ run on the gophernotes kernel, whose
// interpreter (gomacro) cannot use generic functions or types, is about 40
// times slower than compiled Go for loops written in a cell, and cannot mix a
// second copy of gonum into the same session. So everything here is
// non-generic, does its loops in compiled code, and returns results as plain
// structs: numbers in exported fields, a String method that prints them as a
// table, and image.Image fields that the kernel shows as PNG when a cell ends
// with them (PNG turns any of them into bytes, for display.PNG or a file).
// Notebooks import only this package (and the standard library).
//
// Errors: a function here panics on a bad argument or a failed run, with a
// message that starts with "nb:". In a notebook a panic is a cell error, which
// is what the CI runner (scripts/notebooks.sh) checks for; library code that
// needs errors returned should call the packages underneath directly.
//
// Reproducibility: every function takes a seed; data points are row i of
// rng.New(seed, i, rng.Data), samples rows 0..n-1 of package sample's streams
// for the seed, and the fresh reference samples the metrics compare with use
// fixed seeds of their own. The same call gives the same numbers on any
// machine and worker count.
//
// # The experiments, by notebook
//
//  1. The forward process. Schedules draws c(t), s(t) and g(t)^2 of VP,
//     sub-VP and VE; MarginalTable prints c and s; Forward pushes gmm8
//     particles through a forward SDE by Euler-Maruyama and compares the mean
//     of |x_t|^2 with the closed form c^2 |x_0|^2 + D s^2, particle by
//     particle, next to pictures of the exact p_t.
//  2. DDPM is a discretised VP SDE. DDPMSchedule compares N beta_i with
//     beta(t_i) and alpha-bar_i with c(t_i)^2 = exp(-int_0^t beta) (gap O(1/N));
//     DDPMAgreement runs DDPM's ancestral sampler, the reverse-diffusion
//     predictor, Euler-Maruyama and DDIM with one seed and measures how far
//     the paired samples end up as the step count grows.
//  3. Samplers on gmm8. Samplers runs sampler specs (a sample.Names() name and its options) at several
//     step counts on an exact score and measures each against p_0 (Metrics);
//     MetricPlot draws the distances against the score evaluations.
//  4. Likelihood. Likelihood computes log p_eps by the probability flow with
//     the exact trace and with Hutchinson probes, against the mixture's exact
//     log p_eps: the ODE's error, bits/dim, the probes' bias and spread
//     against the number of probes, and the evaluations per point.
//  5. Training. TrainSwissRoll trains an MLP score by denoising score
//     matching (package score's trainer); Trained.Sample, LogLikelihood and
//     Density sample from it, score held-out data against a Gaussian
//     baseline, and draw its density.
//  6. Sohl-Dickstein 2015. Heartbeat and SwissRollSD15 train the binomial and
//     Gaussian diffusion models of package sd15 at small budgets and return
//     the bound K two ways, L_null, the true log-likelihood, and pictures
//     (heartbeat inpainting by multiplied binomial kernels; Swiss roll
//     samples).
//  7. Guidance. Guidance samples gmm8 toward one component with the exact
//     conditional oracle (score.MixtureClasses): classifier-free guidance
//     at several weights and samplers, and exact classifier guidance, with
//     the fraction nearest the component and the samples' spread along its
//     direction. GaussianGuidance is the tractable case: Gaussian
//     conditional and unconditional densities, where the tilted density and
//     each sampler's exact output law (score.GuidedGaussianLaw) are
//     Gaussians, compared with ode and em samples. DigitsGuidance does it
//     with trained models on the digits at a notebook's budget: a
//     conditional MLP trained with label dropout (CFG from one network), a
//     clean classifier that judges the clipped samples (its held-out
//     accuracy on digits-test reported), a noise-conditional classifier for
//     classifier guidance of the unconditional score, the per-digit accuracy
//     at each weight and sampler, and grids of the samples, a row per digit.
//
// # Metrics
//
// Metrics uses package metrics (mean and covariance errors, mode weights from
// mean responsibilities, the log-density gap, sliced W2 and energy distances)
// and adds the total variation between 24 x 24-bin histograms of the first two
// coordinates, which sees thin structure (a spiral's arms) that projections
// average away. Every distance comes with its floor: the value between two
// independent exact samples of the same size.
package nb
