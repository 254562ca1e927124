// Package latent runs diffusion models in the latent space of an
// autoencoder (latent diffusion, Rombach et al. 2022, "High-Resolution Image
// Synthesis with Latent Diffusion Models", CVPR): a first stage compresses
// the data, and the score model, its samplers and its likelihoods work on
// the compressed codes, so each score evaluation is cheaper.
//
// # First stage
//
// model.Autoencoder is the KL-regularised variant ("KL-reg.", sec. 3 and
// appendix G of the paper): a Gaussian encoder q(u | x) = N(mu(x),
// diag sigma^2(x)) of K latent values and a decoder D(u), trained on
//
//	L = E_x E_{xi ~ N(0, I)} [ ||D(mu + sigma xi) - x||^2 + beta KL(q(u|x) || N(0, I)) ]
//
// with a small beta (model.DefaultKLWeight = 1e-3 on the sum of squared
// errors; the paper's 1e-6 sits beside a loss summed over far more pixels):
// the KL term only keeps the latents near the origin with a bounded
// spread, it is not a variational bound (which would need beta = 1 with the
// squared error read as a Gaussian of variance 1/2). Train draws step k's
// rows and noise from its own stream (Seed, k), by Adam.
//
// # Scale factor
//
// After training, s = 1 / std(u) over ScaleRows training latents u ~
// q(u | x) (all coordinates pooled), stored in the autoencoder's config.
// The diffusion model sees z = s u, of unit variance, which the forward
// SDEs' priors assume (the paper's sec. 4.3.2 and appendix G: 1/std of the
// first batch's latents).
//
// # Diffusion in latent space
//
// Source turns any data.Source into the latent one: each draw is z = s (mu
// + sigma xi) of a data row, so the score trainer encodes every batch on
// the fly. A sample z of the latent model is decoded by DecodeTo as
// x = D(z / s). The likelihood of a data point is taken at its scaled
// posterior mean, EncodeMeanTo: z = s mu(x). The probability-flow ODE then
// gives log p_Z(z), a density on R^K; with the change of variables
// log p_U(u) = log p_Z(s u) + K log s it is the density of the unscaled
// latent. Neither is log p(x): the decoder is not invertible (K < D). A
// lower bound on log p(x) needs a decoder likelihood p(x | u) and the
// encoder's entropy,
//
//	log p(x) >= E_q[log p(x | u)] + E_q[log p_U(u)] + H(q(. | x)),
//	H(q) = sum_k (1/2) log(2 pi e sigma_k^2),
//
// and a squared-error decoder defines p(x | u) only once a variance is
// chosen; evaluating log p_U at the mean is a one-point estimate of
// E_q[log p_U(u)], not a bound. docs/latent.md says what sdesample prints.
package latent
