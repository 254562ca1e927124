// Package sde defines the forward stochastic differential equations of
// score-based generative modelling and the reverse-time processes built from a
// score.
//
// A forward SDE on [0, T] (T = 1 here) is
//
//	dx = f(x, t) dt + g(t) dw.
//
// All three SDEs of Song et al. (2021) have a linear drift f(x, t) = a(t) x and
// Gaussian transition kernels, so the marginal of x_t given x_0 is
// N(c(t) x_0, s(t)^2 I) with:
//
// VP (variance preserving, the continuous limit of DDPM):
//
//	beta(t) = beta_min + t (beta_max - beta_min),   a(t) = -beta(t)/2,   g(t)^2 = beta(t)
//	log c(t) = -t^2 (beta_max - beta_min)/4 - t beta_min/2,   s(t)^2 = 1 - c(t)^2
//
// sub-VP:
//
//	a(t) = -beta(t)/2,   g(t)^2 = beta(t) (1 - exp(-2 beta_min t - (beta_max - beta_min) t^2)) = beta(t)(1 - c^4)
//	s(t) = 1 - c(t)^2   (the standard deviation itself, so s_subVP <= s_VP^2 <= s_VP)
//
// VE (variance exploding, the continuous limit of SMLD/NCSN):
//
//	sigma(t) = sigma_min (sigma_max/sigma_min)^t,   a(t) = 0,
//	g(t)^2 = sigma(t)^2 2 ln(sigma_max/sigma_min),   c = 1,   s(t) = sigma(t)
//
// (sigma_min is not subtracted, following the reference code, so the VE p_0 is
// the data convolved with N(0, sigma_min^2)). The priors are N(0, I) for VP and
// sub-VP and N(0, sigma_max^2 I) for VE.
//
// Numerics: 1 - c(t)^2 is evaluated as -expm1(2 log c(t)), never as a
// difference, so the marginal standard deviation is accurate at t = 1e-5 where
// the reference code (float32, 1 - exp(...)) is 0.6 % (VP) and 1.2 % (sub-VP)
// off.
//
// Given the score s(x, t) = grad_x log p_t(x), the reverse-time SDE and the
// probability-flow ODE (Song et al. 2021, eqs. 6 and 13) are
//
//	dx = [f(x, t) - g(t)^2 s(x, t)] dt + g(t) dw_bar
//	dx/dt = f(x, t) - g(t)^2 s(x, t) / 2.
//
// Score is declared here, by its consumer; the oracle and network scores of
// package score satisfy it.
//
// The samplers' steps of the reverse-time SDE live here, in one place
// (reverse.go), all of the linear form x' = PX x + PS s(x, t) + PZ z
// (Linear): with the exact kernel x_t = A x_t' + B z from t' to t, A =
// c(t)/c(t'), B^2 = s(t)^2 - A^2 s(t')^2 (Kernel),
//
//	Euler-Maruyama, dt = t' - t < 0:  x' = (1 + a dt) x - g^2 dt s + g sqrt(-dt) z   (ReverseEuler; ReverseEulerN for dt = -1/N)
//	reverse diffusion (appendix E):   x' = (2 - A) x + B^2 s + B z                    (ReverseDiffusion)
//	ancestral (appendix F):           x' = (x + B^2 s)/A + sigma z,                   (Ancestral)
//	                                  sigma^2 = B^2 or B^2 s(t')^2/s(t)^2
//
// # What an SDE declares
//
// Code outside this package never asks which built-in SDE it has: each SDE
// carries its behaviour through optional interfaces.
//
// Defaults (DefaultEps, DefaultParam, DefaultAncestralVariance) gives the
// sampling cut-off, the network parameterisation and the ancestral variance
// of the reference code (score_sde_pytorch: configs/*/ sampling.eps and the
// model's scale_by_sigma; sampling.py's AncestralSamplingPredictor):
//
//	        eps    param   ancestral variance
//	VP      1e-3   eps     beta
//	sub-VP  1e-3   eps     beta
//	VE      1e-5   sigma   beta-tilde (sigma_{i-1}^2 (sigma_i^2 - sigma_{i-1}^2)/sigma_i^2)
//
// For an SDE without Defaults, DefaultEps is an error (the cut-off depends on
// how fast s(t) vanishes at 0: set it), DefaultParam is "eps" (noise
// prediction, score = -o/s(t), works for every SDE with s(t) > 0) and
// DefaultAncestralVariance is "beta".
//
// Register, New and Kinds are a registry of kinds: New(name, params) builds
// and validates the kind name from the parameters a Parameterized SDE reports
// (VP and sub-VP: beta_min, beta_max; VE: sigma_min, sigma_max; a missing key
// takes the reference default). A checkpoint records Name() and Params(), so
// a user's own SDE, registered once in an init function, trains, saves and
// loads like the built-in ones. ByName(name) is New(name, nil) and also
// accepts "sub-vp".
//
// # Discrete chains
//
// BetaGrid (VP) gives the DDPM chain of N levels (Song et al. 2021, appendix
// B; Ho et al. 2020 with N = 1000: 1e-4 .. 0.02):
//
//	beta_i = beta_min/N + i (beta_max - beta_min)/(N (N - 1)),   i = 0..N-1   (numpy.linspace; N = 1: beta_min)
//
// level i standing for t = (i + 1)/N; SigmaGrid (VE) gives SMLD's geometric
// levels (Song and Ermon 2019)
//
//	sigma_i = sigma_min (sigma_max/sigma_min)^(i/(N-1)),   i = 0..N-1,
//
// level i standing for t = i/(N - 1). Package discretize builds its DDPM and
// SMLD schedules from these methods.
//
// ReferenceDiscretizer gives the N-step discretisation of the reference code
// (score_sde_pytorch sde_lib.py: VPSDE.discretize, VESDE.discretize and the
// generic SDE.discretize; sampling.py: ReverseDiffusionPredictor,
// AncestralSamplingPredictor, LangevinCorrector) at each time t of a grid,
// with index i = floor(t (N-1)/T) clamped to [0, N-1] and each predictor a
// linear update x' = PX x + PS score + PZ z:
//
//	VP      reverse diffusion  PX = 2 - sqrt(1 - beta_i), PS = beta_i, PZ = sqrt(beta_i)
//	        ancestral          PX = 1/sqrt(1 - beta_i), PS = beta_i/sqrt(1 - beta_i),
//	                           PZ^2 = beta_i or beta-tilde_i = beta_i (1 - abar_{i-1})/(1 - abar_i)
//	        Langevin alpha     1 - beta_i
//	VE      reverse diffusion  PX = 1, PS = G^2, PZ = G, G^2 = sigma(t)^2 - sigma_{i-1}^2
//	        ancestral          PX = 1, PS = G^2 = sigma_i^2 - sigma_{i-1}^2,
//	                           PZ^2 = G^2 or sigma_{i-1}^2 G^2/sigma_i^2   (sigma_{-1} = 0)
//	        Langevin alpha     1
//	sub-VP  reverse diffusion  the generic f dt, g sqrt(dt) with dt = 1/N:
//	                           PX = 1 - a(t)/N, PS = g(t)^2/N, PZ = g(t)/sqrt(N)
//	        ancestral          the exact kernel over [t', t], t' = max(t - 1/N, 0):
//	                           A = c(t)/c(t'), B^2 = s(t)^2 - A^2 s(t')^2,
//	                           PX = 1/A, PS = B^2/A, PZ^2 = B^2 or B^2 s(t')^2/s(t)^2
//	        Langevin alpha     the VP alphas 1 - beta_i of the same betas
//
// (the reference has no sub-VP ancestral predictor or Langevin alpha of its
// own; these are sdekit's choices). The VE grid has max(N, 2) levels.
//
// Sources: Song, Sohl-Dickstein, Kingma, Kumar, Ermon, Poole 2021, "Score-Based
// Generative Modeling through Stochastic Differential Equations" (ICLR), section
// 3.4 and appendix B; Ho, Jain, Abbeel 2020 (DDPM); Song and Ermon 2019 (SMLD).
package sde
