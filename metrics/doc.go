// Package metrics measures the quality of a sample (n rows of dimension d,
// row-major, flat []float64) against a known target: the exact densities of
// package score, or a reference sample. All functions are plain functions;
// they panic on shape errors (programmer errors) and never print.
//
// # Moments
//
// MeanError is |x_bar - mu|. CovarianceError is |C_hat - C|_F / |C|_F with the
// unbiased sample covariance C_hat. VarianceRatio is C_hat_jj / C_jj per
// dimension. MixtureMoments gives the exact mean and covariance of a
// Gaussian mixture pushed through its SDE to time t:
//
//	mean = c sum_k w_k mu_k,
//	cov  = sum_k w_k c^2 (diag(s_k^2) + mu_k mu_k^T) + s^2 I - mean mean^T.
//
// For a sample of n independent draws the standard error of a mean is
// sqrt(C_jj / n) and that of a variance about C_jj sqrt(2 / (n - 1)) for
// Gaussian data.
//
// # Log-density gap
//
// LogProbGap is (1/n) sum_i log p_0(x_i) - E_{p_0}[log p_0(X)]. The
// expectation is the negative differential entropy: for one Gaussian
// component -1/2 sum_j (log(2 pi v_j) + 1), for a mixture a Monte Carlo mean
// over exact draws. It is 0 in expectation for exact samples, negative when
// the sample has mass where p_0 is small (over-dispersion, stray points), and
// positive when it is concentrated on the modes.
//
// # Distances between samples
//
// The 1-D 2-Wasserstein distance of two empirical distributions is the L2
// distance of their quantile functions, W2^2 = int_0^1 (F^-1(u) - G^-1(u))^2
// du, computed exactly on the merged break points (any sample sizes). The
// sliced distance averages it over directions theta uniform on the sphere
// (Rabin, Peyre, Delon and Bernot 2011; Bonneel et al. 2015):
//
//	SW2(X, Y)^2 = E_theta W2(theta^T X, theta^T Y)^2.
//
// For N(m, I) against N(0, I), W2 along theta is |theta^T m|, so SW2 = |m| / sqrt(d).
//
// The energy distance (Szekely and Rizzo 2013) is
//
//	D^2(X, Y) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|,
//
// zero only for equal distributions; it is computed as the V-statistic over
// all pairs, which is non-negative and has an O(1/n) positive bias.
//
// # Frechet distance
//
// FrechetDistance fits a Gaussian to each of two feature sets (sample mean,
// unbiased covariance; Moments accumulates them block by block) and returns
// the squared Frechet, or 2-Wasserstein, distance between the Gaussians
// (Dowson and Landau 1982):
//
//	d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^(1/2) S2 S1^(1/2))^(1/2)).
//
// With the features of an image classifier this is the FID of Heusel et al.
// (2017), whose usual code takes the non-symmetric sqrtm(S1 S2). Here both
// roots are of symmetric positive semi-definite matrices, taken by
// eigen-decomposition (gonum) with round-off negative eigenvalues set to 0,
// so the result is real and singular covariances are fine. Closed forms
// check it: 0 for equal sets; |a|^2 for a translation by a; (m1 - m2)^2 +
// (s1 - s2)^2 in 1-D; sum (sqrt a_i - sqrt b_i)^2 for covariances with shared
// eigenvectors; tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for 2 x 2 ones.
//
// # Mixture weights
//
// ComponentWeights estimates each weight as the mean responsibility
// r_k(x) = w_k N_k(x) / p_0(x). Since E_{p_0}[r_k(X)] = w_k exactly, this is an
// unbiased check of mode weights for any overlap of the components (a
// sampler with the wrong reverse dynamics gets the weights wrong even when
// every mode is present, diffrax issue 560).
//
// Sources: Dowson and Landau 1982, "The Frechet distance between
// multivariate normal distributions", J. Multivariate Analysis 12; Heusel et
// al. 2017, "GANs trained by a two time-scale update rule converge to a
// local Nash equilibrium" (arXiv 1706.08500); Szekely and Rizzo 2013, "Energy statistics: a class of statistics
// based on distances", J. Stat. Planning and Inference 143; Rabin, Peyre,
// Delon, Bernot 2011, "Wasserstein barycenter and its application to texture
// mixing"; Bonneel, Rabin, Peyre, Pfister 2015, "Sliced and Radon Wasserstein
// barycenters of measures"; Villani 2003 for the 1-D quantile formula.
package metrics
