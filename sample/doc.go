// Package sample draws samples from score-based diffusion models: the
// reverse-time SDE by Euler-Maruyama, predictor-corrector samplers, the
// probability-flow ODE, the discrete DDPM and DDIM chains, and the field's
// fast samplers: EDM's (Karras et al. 2022, edm.go), DPM-Solver and
// DPM-Solver++ singlestep, multistep and adaptive (Lu et al. 2022,
// dpmsolver.go, dpmmulti.go, dpmadaptive.go) and UniPC (Zhao et al. 2023,
// unipc.go); and reverse-SDE solvers for additive noise: SRA1 (Roessler
// 2010) and ShARK (Foster, dos Reis and Strange 2023), strong order 1.5 with
// the space-time Levy area, fixed or PI-adaptive steps (sra.go); stochastic
// and reversible Heun (sheun.go); the adaptive EM/improved-Euler pair of
// Jolicoeur-Martineau et al. 2021 (adaptivesde.go). docs/samplers.md
// measures them all against exact answers.
//
// # Exponential integrators
//
// With alpha = c(t), sigma = s(t) and lambda = log(alpha/sigma), the
// probability flow written with the data prediction x0(x, t) = (x + s^2
// score)/c (Tweedie's formula) has a linear part that is integrated exactly
// (Lu et al. 2022, eq. 3.4; DPM-Solver++ eq. 8):
//
//	x_t = (sigma_t/sigma_s) x_s + sigma_t int_{lambda_s}^{lambda_t} e^lambda x0 dlambda
//
// and in the noise prediction eps = -s score
//
//	x_t = (alpha_t/alpha_s) x_s - alpha_t int_{lambda_s}^{lambda_t} e^-lambda eps dlambda.
//
// DPM-Solver(++) and UniPC differ in how they approximate x0 or eps along
// the step (Taylor terms from intermediate or past evaluations); the EDM
// samplers step the same flow in Karras' scaled variables x/alpha and
// sigma/alpha. They need the marginal only, so they work for every SDE
// here (the drift is linear in x).
//
// # Time-step schedules
//
// Every fixed-step sampler takes a Grid: uniform in t, in lambda
// ("logsnr"), Karras et al.'s sigma^(1/rho) ("karras") or in sqrt(t)
// ("quadratic"); see schedule.go.
//
// # Samplers as types
//
// A sampler is a value with its own options (EulerMaruyama, PC with its
// Predictor and Corrector, ProbabilityFlow, DDPM, DDIM) set in
// Config.Sampler. Its Prepare method checks the options against the run and
// returns a Plan; one shared driver (Generate, Trajectory) splits the rows
// into blocks over the workers, draws each row's prior and noise from
// Config.Noise, reports progress, stops on cancellation, records
// trajectories and counts evaluations, and calls Plan.Run once per block.
// A plan keeps whatever a method needs between steps (past evaluations of a
// multistep method, several evaluations a step) in its Run's locals and the
// worker's Block.Scratch. A new sampler is one type with Name and Prepare
// (and Options, for the command line and notebooks) and one line in
// names.go; a caller's own sampler registers with Register (see the
// package examples).
//
// # Noise
//
// Noise is an interface: a worker's NoiseSource answers independent
// normals (prior draws, Langevin steps) and Brownian increments over a time
// interval (reverse-SDE steps). The default Streams gives row i of seed s
// its own counter-based stream and answers both in order; BrownianTree
// (brownian.go) answers increments, and the space-time Levy area the 1.5
// methods need (AreaSource), by time instead, so runs with different steps
// share one path and an adaptive solver retries a rejected step on it.
// Samplers that need the tree choose it (NoiseChooser) when Config.Noise is
// nil.
//
// Everything is on flat row-major []float64 (n rows of D values). Generate
// takes the global indices of the rows to draw; row i takes all its
// randomness from its own counter-based normal stream rng.NewKey(seed, i,
// rng.Sampling) (the prior draw, then the noise of each step in order; normal
// n of the row is a fixed function of the key and n, drawn for a block of
// rows at a time by rng.NormalsRows), so a row does not depend on
// the batch, the order of rows, Workers, Block or the shard it is computed in.
// The two options that make rows share a step size (PC.BatchNorms,
// ProbabilityFlow.Joint) make the rows of one call a batch (a lockstep
// plan), as in the reference code.
//
// # Notation
//
// The forward SDE is dx = a(t) x dt + g(t) dw with marginal x_t = c(t) x_0 +
// s(t) z (package sde); score(x, t) = grad log p_t(x); z ~ N(0, I) fresh at
// every use. The exact forward transition from t' to t > t' is
//
//	x_t = A x_t' + B z,   A = c(t)/c(t'),   B^2 = s(t)^2 - A^2 s(t')^2.
//
// For VP, 1 - A^2 = B^2 = beta, DDPM's noise level of the step; for VE, A = 1
// and B^2 = sigma(t)^2 - sigma(t')^2, SMLD's; sub-VP uses it as it is.
//
// # Time grid
//
// em and pc take N steps on t_k = T - k (T - eps)/N, k = 0..N, ending at
// t_N = eps exactly (their default schedule, "t"). Every predictor below steps from t = t_k to t' = t_{k+1};
// each grid point first runs the corrector (CorrectorSteps times) at t_k,
// then the predictor.
//
// # Predictors (Song et al. 2021, appendix E and G; all are x' = PX x + PS score(x, t) + PZ z)
//
// Euler-Maruyama ("em") on the reverse SDE dx = [a x - g^2 score] dt + g dw_bar,
// dt = t' - t < 0:
//
//	x' = x + (a(t) x - g(t)^2 score) dt + g(t) sqrt(-dt) z
//
// Reverse diffusion ("reverse-diffusion"): with the forward step
// x_t = x_t' + f_k(x_t') + G_k z written as f_k(x) = (A - 1) x, G_k = B,
// reverse it as x' = x - f_k(x) + G_k^2 score + G_k z:
//
//	x' = (2 - A) x + B^2 score + B z
//
// which is (2 - sqrt(1 - beta)) x + beta score + sqrt(beta) z for VP (DDPM's
// discretisation) and x + (sigma^2 - sigma'^2) score + sqrt(sigma^2 - sigma'^2) z
// for VE (SMLD's).
//
// Ancestral ("ancestral", the Ancestral type): sample q(x_t' | x_t, x_0) at Tweedie's estimate
// x_0 = (x + s(t)^2 score)/c(t); its mean simplifies to
//
//	x' = (x + B^2 score)/A + sigma z,   sigma^2 = B^2 ("beta") or B^2 s(t')^2 / s(t)^2 ("beta-tilde", the posterior variance)
//
// For VP with beta this is DDPM's Algorithm 2 on the grid; for VE with
// beta-tilde it is the reference's SMLD ancestral step. Ancestral.Variance chooses;
// the default is the SDE's (sde.DefaultAncestralVariance: the reference's beta
// for VP and sub-VP, beta-tilde for VE).
//
// # Correctors
//
// Langevin ("langevin", Song et al. 2021, Algorithm 5), at time t:
//
//	e = 2 alpha (r |z| / |score(x, t)|)^2,   x <- x + e score + sqrt(2 e) z
//
// with r = SNR and alpha = A^2 of the step that follows (1 - beta_i for VP,
// 1 for VE; the same A^2 for sub-VP, where the reference crashes). The norms
// are the row's own by default; PC.BatchNorms averages |z| and |score| over the
// rows of the call, as the reference does. When |score| = 0 no step is taken.
// With per-row norms the step is unbounded where the score is small: in two
// dimensions a fifth of the gmm8 samples leave the modes, and with
// anisotropic data in 16 or 64 dimensions variances come out up to 1.8x too
// large; the batch-averaged step has neither problem.
//
// Annealed Langevin ("ald", Song and Ermon 2019, Algorithm 1; the reference's
// AnnealedLangevinDynamics): the same update with the step from the marginal
// standard deviation instead of the norms,
//
//	e = 2 alpha (r s(t))^2.
//
// Because of the per-row problem above, and because batch norms make a sample
// depend on its batch (breaking sharding), pc's default corrector is "ald";
// "langevin" (per-row, or with BatchNorms the reference's rule) stays
// available for comparison.
//
// Predictor "none" runs the corrector alone at every grid point.
//
// # Denoising
//
// Denoise ends with Tweedie's formula at eps, one more score evaluation:
//
//	x <- (x + s(eps)^2 score(x, eps)) / c(eps),
//
// the posterior mean E[x_0 | x_eps]. For VP at eps = 1e-3 and N = 1000 this is
// the reference's last noise-free step up to O(beta_0^2).
//
// # Probability-flow ODE
//
// The "ode" sampler (ProbabilityFlow) integrates dx/dt = a(t) x - g(t)^2 score(x, t) / 2 from T
// to eps with package ode: by default Dormand-Prince 5(4) with per-row step
// sizes and error control (each row its own step size and error norm), so
// an easy row is not held back by a hard one; Joint solves all rows of the
// call as one flattened system with one step size, as scipy's RK45 does in the
// reference. Tableaux without an error estimate ("euler", "heun", "midpoint",
// "rk4") take Steps equal steps, for low step counts. Stats reports every
// evaluation, including rejected steps and the initial-step trial.
//
// # DDPM and DDIM
//
// "ddpm" and "ddim" run the discrete chains of package discretize on the
// DDPM schedule of the VP SDE (beta_i = linspace(beta_min/N, beta_max/N, N)),
// with the score turned into an epsilon-model, eps(x, i) = -s(t_i) score(x, t_i),
// t_i = (i + 1)/N (discretize.ScoreEps):
//
//	DDPM (Ho et al. 2020, Algorithm 2):
//	x_{i-1} = (x_i - beta_i / sqrt(1 - alpha-bar_i) eps) / sqrt(alpha_i) + sigma_i z,
//	sigma_i^2 = beta_i or beta-tilde_i, no noise at i = 0;
//
//	DDIM (Song, Meng and Ermon 2020, eq. 12), from i to j on a subsequence of S steps:
//	x_j = sqrt(alpha-bar_j) x0hat + sqrt(1 - alpha-bar_j - sigma^2) eps + sigma z,
//	sigma = eta sqrt((1 - alpha-bar_j)/(1 - alpha-bar_i)) sqrt(1 - alpha-bar_i/alpha-bar_j).
//
// Steps is N for ddpm and S for ddim (on a schedule of DDPMSteps). Both end
// noise-free at x_0, so Denoise does not apply.
//
// # Reproducing the reference (ReferenceDt)
//
// score_sde_pytorch's PC sampler uses the grid linspace(T, eps, N) and takes a
// step at every point, including eps; its Euler-Maruyama predictor uses
// dt = -1/N rather than the grid spacing (T - eps)/(N - 1), so it integrates
// over a total time of 1, past eps. Its reverse-diffusion and ancestral
// predictors and Langevin alpha use the N-step DDPM or SMLD tables at index
// i = floor(t (N - 1)/T); for VE reverse diffusion, sigma(t) from the continuous
// formula with the previous sigma from the table. It returns the last
// predictor's noise-free mean. ReferenceDt reproduces all of this (with
// Denoise: dropping the last step's noise instead of Tweedie's step; for the
// ode sampler, the reference's denoising reverse-diffusion step at eps). The
// reference reports N (corrector steps + 1) evaluations whatever ran; Stats
// counts what ran.
//
// # Tests
//
// For Gaussian data every predictor, the annealed Langevin corrector, the
// denoising step and every fixed-step ODE method is affine in x, so the
// output mean and variance follow an exact recursion; the Langevin corrector
// with the norm rule is not affine (its step depends on |score(x)|) and is
// checked step by step by hand instead. The tests compare the samples with
// the recursion, the recursion with the continuous limit (weak order 1; 2 for
// Heun), DDPM with the VP samplers (in distribution and row by row on shared
// noise), mixture weights with the truth, and the adaptive ODE with the exact
// flow map.
//
// # Inpainting
//
// EulerMaruyama.Clamp and PC.Clamp are called after every step; Inpaint builds the score
// SDE code's clamp, which overwrites the known coordinates with the
// forward-noised data c(t) x0 + s(t) z. It is a heuristic: on gmm8 with x fixed
// at 4 it puts 0.43 of the filled-in y on the (4, 0) mode where the exact
// conditional has 0.887 (TestInpaintGMM8). For exact posterior sampling use a
// guided score (score.Guided) with the exact r_t where it is known.
//
// Sources: Song, Sohl-Dickstein, Kingma, Kumar, Ermon, Poole 2021, "Score-Based
// Generative Modeling through Stochastic Differential Equations" (ICLR),
// section 4 and appendices E (reverse diffusion), F (ancestral sampling) and
// G (predictor-corrector, Algorithms 2 to 5); Ho, Jain, Abbeel 2020,
// "Denoising Diffusion Probabilistic Models", Algorithm 2; Song, Meng, Ermon
// 2020, "Denoising Diffusion Implicit Models", section 4; Song and Ermon
// 2019, "Generative Modeling by Estimating Gradients of the Data
// Distribution", Algorithm 1 (annealed Langevin dynamics); Efron 2011,
// "Tweedie's formula and selection bias"; Kloeden and Platen 1992 for the
// weak order of Euler-Maruyama.
package sample
