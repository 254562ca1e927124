// Package discretize holds the discrete diffusion chains and their link to the
// continuous SDEs of package sde.
//
// # DDPM is a discretised VP SDE
//
// With N steps, the VP SDE with beta(t) = beta_min + t (beta_max - beta_min)
// gives the DDPM noise levels
//
//	beta_i = beta_min/N + i (beta_max - beta_min) / (N (N - 1)),  i = 0..N-1,
//
// i.e. linspace(beta_min/N, beta_max/N, N); with the defaults 0.1, 20 and
// N = 1000 this is exactly DDPM's linspace(1e-4, 0.02, 1000). alpha_i = 1 - beta_i
// and alpha-bar_i = prod_{j<=i} alpha_j (computed as exp(sum log1p(-beta_j)) so it
// stays accurate). Step i corresponds to time t_i = (i + 1)/N; the discrete
// forward chain x_i = sqrt(alpha-bar_i) x_0 + sqrt(1 - alpha-bar_i) z matches the
// continuous marginal c(t_i), s(t_i) to O(1/N) (Song et al. 2021, appendix B).
//
// # SMLD is a discretised VE SDE
//
// sigma_i = sigma_min (sigma_max/sigma_min)^(i/(N-1)), i = 0..N-1, geometric from
// sigma_min to sigma_max. The forward chain adds N(0, sigma_i^2 - sigma_{i-1}^2)
// at step i with sigma_{-1} = 0.
//
// # The prior term of the variational bound
//
// L_T = KL(q(x_T | x_0) || N(0, I)), per coordinate
//
//	0.5 (alpha-bar_T x_0^2 + (1 - alpha-bar_T) - 1 - log(1 - alpha-bar_T))
//	= 0.5 (alpha-bar_T (x_0^2 - 1) - log1p(-alpha-bar_T))
//
// in nats; divided by ln 2 for bits/dim. DDPM reports L_T ~ 1e-5 bits/dim for
// data in [-1, 1].
//
// Sources: Ho, Jain, Abbeel 2020, "Denoising Diffusion Probabilistic Models"
// (eq. 5, algorithms 1 and 2, section 4); Song and Ermon 2019 (NCSN); Song et
// al. 2021 (score SDE), section 3.3 and appendix B.
package discretize
