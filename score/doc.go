// Package score holds score functions s(x, t) = grad_x log p_t(x): exact
// oracles for Gaussian mixtures under any forward SDE, and (in later files) the
// adapter from a trained network to a score, the denoising score-matching
// losses and the trainer.
//
// # Exact oracle
//
// For p_0(x) = sum_k w_k N(x; mu_k, diag(s_k^2)) and an SDE whose marginal
// kernel is N(c(t) x_0, s(t)^2 I), p_t is again a mixture:
//
//	p_t(x) = sum_k w_k N(x; c mu_k, diag(v_k)),   v_k = c^2 s_k^2 + s^2.
//
// With a_k = (c mu_k - x) / v_k (elementwise) and responsibilities
// r_k = softmax_k(log w_k + log N_k(x)) computed by log-sum-exp,
//
//	score      = sum_k r_k a_k
//	d score/dx = sum_k r_k (a_k a_k^T - diag(1/v_k)) - score score^T      (symmetric)
//	tr         = sum_k r_k (|a_k|^2 - sum_j 1/v_kj) - |score|^2
//	v^T J      = sum_k r_k ((v . a_k) a_k - v / v_k) - (v . score) score.
//
// The Jacobian follows from grad r_k = r_k (a_k - score). Everything is
// evaluated through log-sum-exp so that points far from the data (|x| = 1e3
// under VE) and tiny t give finite answers.
//
// # Built-in problems (reference.md, section 6)
//
//	gmm8:    D = 2, 8 equal weights, mu_k = 4 (cos 2 pi k/8, sin 2 pi k/8), std 0.5
//	gauss:D: one component, mu_i = 0.5 cos(i), std_i = 0.2 + 0.6 i/(D-1), i = 0..D-1
//
// # Network scores and training
//
// Net turns the output o(x, t) of any model.Net (an MLP from model.New, or an
// architecture of one's own) into a score with the marginal std s(t) of its
// SDE: eps (score = -o/s; the reference's VP and sub-VP convention and
// DDPM's noise prediction; the default for VP and sub-VP), sigma (score = o/s;
// NCSN's output/sigma, which the reference's VE NCSN++ models apply inside the
// network with scale_by_sigma; the default for VE) and score (o as is). The
// default is the one the SDE declares (sde.DefaultParam), eps for an SDE that
// declares none. Since
// the scale depends only on t, v^T d score/dx = k(t) v^T d o/dx. With
// x_t = c x_0 + s z, the losses are l = lambda(t)/2 |S(x_t, t) + z/s|^2
// averaged over the batch: dsm with lambda = s^2 (Song et al. 2021, eq. 7) or
// lambda = g^2 (Song, Durkan, Murray, Ermon 2021, likelihood weighting); ddpm's
// L_simple |z - eps_theta|^2 at the discrete alpha-bar_i (Ho et al. 2020,
// Algorithm 1); smld with sigma_i^2 on the geometric grid (Song and Ermon
// 2019). ddpm needs an SDE with a DDPM chain (sde.BetaGrid) and smld one
// with an SMLD chain (sde.SigmaGrid). The trainer trains a clone of the
// model.Trainable it is given (TrainConfig.Model) with Adam and an EMA of
// theta, and draws step k's batch from the stream (seed, k), so a checkpoint
// (network kind and config, parameters, Adam, EMA, step) resumes bit for
// bit.
//
// # Conditional networks and classifiers
//
// A conditional network (model.Config.Classes = C > 0) trains on labeled
// data (data.LabeledSource: gmm8's components, the digits, a file's
// labels) with the DSM loss unchanged, the label of each row fed to the
// network; with TrainConfig.LabelDropout = p each label is replaced by
// NullLabel with probability p (one uniform per row, drawn after the noise),
// so the same network learns the unconditional score s(x, t | null) that
// classifier-free guidance (Ho & Salimans 2022) combines with the
// conditional one, (1 + w) s(x | c) - w s(x). LabeledNet is its Labeled
// score (LabelScoreTo; ScoreTo is the null label's score).
//
// The classifier trainer (ClassifierTrainer) minimises the cross-entropy of
// a model.Classifier's logits on x_t = c(t) x_0 + s(t) z, t ~ U(eps, T)
// (a noise-conditional classifier, Dhariwal & Nichol 2021), or on x_0 at
// t = 0 with Clean, with Adam and an optional EMA; its checkpoint records
// the SDE under ClassifierMetaKey. ClassifierGrad is the trained
// classifier's ClassGradient, grad_x log p_t(c | x), the term classifier
// guidance scales; a clean classifier is evaluated at t = 0.
//
// # Checkpoints, the network and the SDE
//
// A checkpoint records the network's kind and config; LoadNet rebuilds any
// kind registered with model.Register, so a new architecture needs no change
// in this package. It records the SDE as its registered kind and parameters
// (SDESpec, flat JSON: {"name":"vp","beta_max":20,"beta_min":0.1}), and
// LoadNet rebuilds it with sde.New. Any SDE trains, saves and loads if it
// implements sde.Parameterized and its kind is registered with sde.Register;
// a user's own SDE (say EDM's sigma(t) = t) needs nothing else. Checkpoints
// written before the registry decode unchanged (their vp, subvp and ve
// entries left out zero parameters, which read as 0).
//
// # Guided scores
//
// Guided adds grad_x log r_t(x) to a base score: the score of a posterior
// p_t(x | y) proportional to p_t(x) p_t(y | x), the continuous-time form of
// SD15's multiplied distributions. GaussianObservation gives the exact
// grad log p_t(y | x) for Gaussian data observed with Gaussian noise.
//
// # Conditional scores and guidance
//
// Labeled is a score conditioned on a class label (NullLabel: the
// unconditional score); ClassGradient is a noise-conditional classifier's
// grad_x log p_t(c | x). The exact oracles come from a mixture: Subset
// restricts it to some components and renormalises, and MixtureClasses
// groups its components into classes (each component its own class by
// default, so gmm8 has 8), with
//
//	p_t(x | c) = sum_{k in c} w_k N_k / W_c,   W_c = sum_{k in c} w_k,
//	grad log p_t(c | x) = s_t(x | c) - s_t(x)              (Bayes; W_c is constant in x).
//
// Two combinators make any sampler guided, since they are sde.Score:
//
//	CFG (Ho and Salimans 2022):          s_w = (1 + w) s_t(x | c) - w s_t(x)
//	ClassifierGuided (Dhariwal and
//	Nichol 2021):                        s   = s_t(x) + gamma grad log p_t(c | x)
//
// With w = 0, CFG is the conditional score to the bit; with the exact
// classifier, gamma = 1 is the conditional score and gamma = 1 + w is CFG
// with weight w. Built from a MixtureClasses (NewCFG, NewClassifierGuided)
// they stay sde.ExactScore (ForSDE re-bases them, which DDPM and DDIM do
// with the chain's marginals) and have VJPTo, so the likelihood's
// probability flow takes them; built from a network they have neither, and
// the likelihood, which needs VJPTo, does not take them.
//
// What guidance samples. At each t, s_w is the score of the tilted density
// p_t(x | c)^(1+w) p_t(x)^(-w) / Z_t. But these tilted densities are not
// the marginals of one diffusion (the tilted density at t is not the
// tilted density at 0 pushed through the SDE), so neither the reverse SDE
// nor the probability flow with s_w ends at the tilted density at t = 0,
// and the two end at different laws. Gaussian p_0(x | c) = N(mu_1, sd_1^2)
// and p_0(x) = N(mu_0, sd_0^2) (GaussianClasses) make this exact: s_w =
// -P(t) x + c(t) Q(t) is linear, the tilted density is N(cQ/P, 1/P), and a
// sampler's output is Gaussian with moments from a linear ODE
// (GuidedGaussianLaw, TiltedGaussian). For mu = (1, -0.5), sd_1 = (0.5,
// 0.3), mu_0 = 0, sd_0 = (1, 2), w = 1, VP at eps = 1e-3 the variances are
//
//	tilted density     0.143   0.0456
//	reverse SDE        0.109   0.0307
//	probability flow   0.0625  0.00203
//
// and at w = 3 the flow's variance in the second coordinate is 1e-6, the
// tilted density's 0.023: guidance sharpens, the flow much more than the
// SDE. The samplers match these laws, not the tilted density (the tests).
//
// Sources: Song et al. 2021 (score SDE), appendix B for the marginals; the
// mixture identities are standard (Bishop 2006, section 2.3.9).
package score
