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
// rows and noise from its own stream (Seed, k), by Adam; TrainConfig.
// MaxTime stops it at the first step boundary past a wall time, as the run
// of the steps done.
//
// The encoder and decoder are MLPs (model.AutoencoderConfig.Arch "mlp": K
// free latent values) or convolutional (Arch "conv", for images): Rombach
// et al.'s f = 4 first stage, small. On Fashion-MNIST's 1x28x28 images the
// encoder runs residual blocks (GroupNorm-SiLU-conv3 twice, plus the
// input) at 28x28 (32 channels), 14x14 and 7x7 (64), with 2x2 average
// pooling between, and ends in mu and log sigma^2 of a 4 x 7 x 7 latent
// image (K = 196); the decoder mirrors it with nearest up-sampling (see
// model's doc, "Convolutional autoencoder"). Its latents keep a spatial
// layout, so the score model on them can be a U-Net: NewSource then
// returns an ImageSource, which tells the latent image shape (sdesample
// train -latent ae.ckpt -arch unet builds on it). A 7x7 latent can be
// halved no further: its U-Net has one resolution (-mult 1 or 2), with
// self-attention over the 49 latent pixels.
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
