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
// Sources: Song, Sohl-Dickstein, Kingma, Kumar, Ermon, Poole 2021, "Score-Based
// Generative Modeling through Stochastic Differential Equations" (ICLR), section
// 3.4 and appendix B; Ho, Jain, Abbeel 2020 (DDPM); Song and Ermon 2019 (SMLD).
package sde
