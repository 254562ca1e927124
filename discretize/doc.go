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
// # DDPM ancestral sampling and DDIM
//
// With an epsilon-model eps(x, i) (the noise that produced x at step i), DDPM's
// Algorithm 2 steps from x_i to x_{i-1} (DDPM's t = i + 1) as
//
//	x_{i-1} = (x_i - beta_i / sqrt(1 - alpha-bar_i) eps(x_i, i)) / sqrt(alpha_i) + sigma_i z,
//
// z ~ N(0, I), with sigma_i^2 = beta_i or beta-tilde_i = beta_i (1 - alpha-bar_{i-1}) /
// (1 - alpha-bar_i) ("similar results", DDPM section 3.2), and no noise at the
// last step i = 0. The mean is the posterior mean of q(x_{i-1} | x_i, x_0) at
// Tweedie's x_0 = (x_i - sqrt(1 - alpha-bar_i) eps) / sqrt(alpha-bar_i).
//
// DDIM (Song, Meng and Ermon 2020, eq. 12) jumps along an increasing
// subsequence tau_1 < ... < tau_S of 0..N-1, from i = tau_k to j = tau_{k-1}
// (j = -1, alpha-bar_{-1} = 1, at the end):
//
//	x_j = sqrt(alpha-bar_j) x0hat + sqrt(1 - alpha-bar_j - sigma^2) eps + sigma z,
//	x0hat = (x_i - sqrt(1 - alpha-bar_i) eps) / sqrt(alpha-bar_i),
//	sigma = eta sqrt((1 - alpha-bar_j) / (1 - alpha-bar_i)) sqrt(1 - alpha-bar_i / alpha-bar_j).
//
// eta = 0 is deterministic; eta = 1 on the full sequence is exactly DDPM with
// sigma^2 = beta-tilde (same means, same variances).
//
// A score s(x, t) of the VP SDE is an epsilon-model through
// eps(x, i) = -s(t_i) s(x, t_i), t_i = (i + 1)/N, with s(t) the marginal
// standard deviation of the SDE (ScoreEps); the network-to-score convention of
// the reference code is the inverse of this map.
//
// (Ho, Jain and Abbeel 2020, Algorithm 2 and eqs. 6-7, 11; Song, Meng and
// Ermon 2020, "Denoising Diffusion Implicit Models", eq. 12 and section 4.2.)
//
// # Sohl-Dickstein 2015 binomial diffusion
//
// Binomial keeps each bit with probability 1 - beta_t and otherwise redraws it
// from B(P), beta_t = 1/(T - t + 1), so prod (1 - beta_s) = (T - t)/T and
// x_T ~ B(P) exactly; Posterior is q(x_{t-1} | x_t, x_0) by Bayes' rule and
// PerturbedRate multiplies a binomial kernel by a binomial r (SD15 appendix C).
// The experiments that use it live in package sd15.
//
// Sources: Ho, Jain, Abbeel 2020, "Denoising Diffusion Probabilistic Models"
// (eq. 5, algorithms 1 and 2, section 4); Song and Ermon 2019 (NCSN); Song et
// al. 2021 (score SDE), section 3.3 and appendix B; Song, Meng, Ermon 2020
// (DDIM); Sohl-Dickstein et al. 2015, section 2 and appendix C.
package discretize
