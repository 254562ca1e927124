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
// which trains far faster). See BinaryModel for the parameterisation: the
// network either corrects the reverse rate (SD15's f_b) or predicts x_0, the
// rate then being the mixture of the two forward posteriors (X0, D3PM's
// form, in which the best factorised kernel below is exactly representable).
// With X0, lr 1e-2 decaying to 1e-4 and 200,000 steps of 64 the model reaches
// K = -2.387 and -2.444 bits at T = 2000 (seeds 1 and 2; SD15: -2.414) in
// about 300 s of CPU training, 0.024 and 0.082 below the ceiling K* = -2.368
// (docs/bench.md lists every try and what mattered).
// Optional devices that did not pay at that budget: a readout per step on
// top of the basis (Net.AddStepReadouts) and one network per run of steps
// (BinaryModel.Segments).
//
// # The factorised ceiling (HeartbeatOracle)
//
// How close can any model of this form come? Write K, averaged over the data,
// as a sum over the transitions of the chain (linearity of expectation; every
// E is under the forward process q with x_0 drawn from the data):
//
//	K = E log pi(x_T) + sum_{t=2}^T E log p(x_{t-1} | x_t) + E log p(x_0 | x_1)
//	    - sum_{t=1}^T E log q(x_t | x_{t-1}).
//
// Only the middle sum depends on the learned kernels, and each of its terms on
// one kernel only. For a factorised kernel p(x_{t-1} | x_t) = prod_j
// B(x_{t-1,j}; rho_j(x_t)) the term is
//
//	E_{x_t} sum_j [ m_j log rho_j + (1 - m_j) log(1 - rho_j) ],   m_j(x_t) = E_q[x_{t-1,j} | x_t],
//
// which, for each x_t and j separately, is largest at rho_j = m_j (Gibbs'
// inequality), where it equals -E_{x_t} sum_j H(B(m_j(x_t))). So the kernel
// whose rates are the exact posterior means maximises K over every factorised
// reverse kernel at once, whatever function of (x_t, t) it is (with p(x_T) = pi
// and p(x_0 | x_1) fixed, as here): no network of this model can pass its K.
// In the KL form the same fact reads E KL(q(x_{t-1}|x_t,x_0) || p) = E KL(q ||
// rho*) + E_{x_t} KL(rho* || p), so K* - K = sum_t E_{x_t} sum_j KL(rho*_j ||
// p_j) >= 0, which EstimateGap samples with far less noise than K itself.
// The rest of K* is its irreducible price: a factorised kernel cannot say that
// the ones of x_{t-1} come in a block of one phase.
//
// For the heartbeat, x_0 is one of Period sequences s_k with ones on the class
// k = {j : j mod Period = k}. Given x_0, bit j of x_{t-1} depends on x_t only
// through x_{t,j}, so
//
//	m_j(x_t) = w_c(x_t) q(x_{t-1,j}=1 | x_{t,j}, x_{0,j}=1) + (1 - w_c(x_t)) q(x_{t-1,j}=1 | x_{t,j}, x_{0,j}=0),
//
// c the class of j and w_c = q(x_0 = s_c | x_t) the posterior over phases. By
// Bayes with q(x_t | s_k) = a^{n_k} (1-a)^{L_k-n_k} b^{N-n_k} (1-b)^{D-L_k-N+n_k},
// a = q(x_t = 1 | x_0 = 1), b = q(x_t = 1 | x_0 = 0), N the ones of x_t and n_k
// those on class k of size L_k,
//
//	log w_k = n_k log(a(1-b)/(b(1-a))) + L_k log((1-a)/(1-b)) + const:
//
// the posterior, hence every m_j, depends on x_t only through the count
// vector (n_0, ..., n_{Period-1}) and the bit x_{t,j}. Under phase k the counts
// are independent, n_k ~ Bin(L_k, a) and n_c ~ Bin(L_c, b), so each expectation
// over the 2^20 states of x_t is an exact sum over the 5^5 = 3125 count
// vectors: K* costs T x 3125 x Period terms, about a second at T = 2000.
// Bound returns it by the KL form, by the entropy form above and by SD15's
// eq. 14, -sum E KL + H_q(X_T|X_0) - H_q(X_1|X_0) - H_p(X_T); the last differs
// from the others by E log pi(x_0) - E log pi(x_1) (SD15's edge term for
// p(x_0|x_1) = q(x_1|x_0) pi(x_0)/pi(x_1)), which is 0 when pi's rate P equals
// the data's mean bit rate, as for SD15's heartbeat (P = 1/5). Tests check all
// three against a brute-force sum of the definition over every pair of states
// on heartbeats of up to 6 bins, and against the trajectory estimate.
//
// Figures (sdesample sd15 -oracle -T N): K* = -2.9737 bits at T = 100,
// -2.4820 at 500, -2.4083 at 1000, -2.3683 at 2000 and -2.3467 at 4000, all
// below log2(1/5) = -2.3219 and approaching it as T grows. SD15's trained
// -2.414 at T = 2000 is 0.046 bits below its ceiling.
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
