// Package sd15 reproduces the experiments of Sohl-Dickstein, Weiss,
// Maheswaranathan and Ganguli 2015, "Deep Unsupervised Learning using
// Nonequilibrium Thermodynamics" (ICML; SD15): a data distribution is slowly
// destroyed by a Markov diffusion q, and a reverse chain p with learned kernels
// is trained to undo it.
//
// # The bound
//
// For any reverse chain p(x_{0:T}) = p(x_T) prod_t p(x_{t-1} | x_t),
//
//	log p(x_0) >= K(x_0) = E_{q(x_{1:T}|x_0)} log [ p(x_{0:T}) / q(x_{1:T} | x_0) ]
//	          = -sum_{t=2}^T E_q KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))
//	            + E_q log p(x_0 | x_1) - KL(q(x_T | x_0) || p(x_T)).
//
// Both lines are computed: BoundTrajectory samples the first (the definition,
// one forward trajectory per sample) and BoundKL the second (the KL terms in
// closed form, one x_t per step drawn from q(x_t | x_0)); they must agree within
// their standard errors. As in SD15 the first reverse step is not learned but
// fixed to p(x_0 | x_1) = q(x_1 | x_0) pi(x_0) / pi(x_1), which is a normalised
// kernel because the prior pi is stationary for q; E log p(x_0|x_1) then has a
// closed form (SD15 writes it through the entropies H_q(X^1 | X^0) and
// H_p(X^T)). Both chains here end with beta_T = 1, so q(x_T | x_0) = pi and the
// last KL is 0. L_null = log pi(x_0) is the log-likelihood of the prior alone.
// All of K is reported in bits.
//
// # Binomial diffusion (binary heartbeat, SD15 Table 1)
//
// discretize.Binomial: bits kept with probability 1 - beta_t, else redrawn from
// B(P), beta_t = 1/(T - t + 1). The heartbeat data are 20-bin sequences with a 1
// every 5th bin (5 phases), pi = B(0.2), T = 2000; the true log-likelihood is
// log2(1/5) = -2.322 bits and K can never exceed it; SD15 reports K = -2.414 and
// K - L_null = 12.024. The network is SD15's: three sigmoid layers of 50 units
// shared by all steps and a readout per step (or, optionally, readouts tied
// through temporal basis functions, SD15's device for its Gaussian models,
// which trains far faster). See BinaryModel for the parameterisation.
//
// # Gaussian diffusion (Swiss roll)
//
// GaussianModel: q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I), T = 40,
// p(x_{t-1} | x_t) = N(mu, diag sigma^2) with both predicted by the network, and
// the closed-form Gaussian KLs. K is compared with L_null (K - L_null > 0 when
// the model has learned anything) and with the true log-likelihood of the data,
// computed by quadrature (SwissRollData.LogDensity).
//
// # The experiments
//
// Run trains either model from an Experiment and returns both estimates of
// K, the true log-likelihood, L_null and (heartbeat) the inpainting
// accuracy; its defaults are those of sdesample sd15, which calls it, as
// does package nb.
//
// # Multiplying distributions
//
// A posterior p~(x_0) proportional to p(x_0) r(x_0) is sampled by perturbing
// every reverse kernel (SD15 section 2.5 and appendix C). For a Gaussian kernel
// the perturbed mean is, to first order, mu + Sigma grad log r(mu)
// (GaussianModel.Sample with gradLogR); SD15 uses the same r at every step,
// which is only right when r is smooth on the scale of every kernel, and with
// 40 steps it is measurably biased (see Sample). GaussianModel.SampleGaussianR
// multiplies each kernel exactly by a Gaussian r_t, the likelihood of an
// observation given the noisy state; with exact kernels that samples the
// posterior exactly, which the tests check. For a binomial kernel B(c) and
// r = B(d), the product is B(c d / (c d + (1 - c)(1 - d)))
// (discretize.PerturbedRate); clamping known bits (d in {0, 1}) and leaving the
// others alone (d = 1/2) fills in missing bins (BinaryModel.Inpaint).
package sd15
