// Package model holds the neural networks of score models, with what it
// takes to train them: batched forward and backward passes, the input
// vector-Jacobian product, Adam, an exponential moving average of the
// weights, and checkpoints. It knows nothing of SDEs: a network is a map
// f(x, t) from R^D x R to R^D, and the score package decides what its output
// means.
//
// # Networks and kinds
//
// Two interfaces describe a network without naming an architecture. Net is
// what inference needs, on a batch of n rows:
//
//	Forward:   F = f(X, t),                  n x D
//	InputVJP:  G_i = v_i^T (df/dx)(x_i, t_i), n x D   (one VJP per row)
//	Dim, Clone
//
// Trainable adds the flat float64 parameters theta, their gradient
// dLoss/dtheta (ForwardTrain, then Backward of dLoss/dF), fixed buffers, and
// a Kind with a JSON config (MarshalConfig). A checkpoint stores (kind,
// config, theta, buffers); Build hands them to the Builder registered for
// the kind (Register), which rebuilds the network, so that
//
//	Build(net.Kind(), net.MarshalConfig(), net.Params(), net.Buffers())
//
// computes what net computes, bit for bit. The MLP below registers as kind
// "mlp" (both precisions; Config.Precision tells them apart), the U-Net as
// "unet". (Classifiers and autoencoders are not score networks and have
// their own kinds and rebuilders, below.) A new
// architecture implements Trainable, registers its builder in an init
// function, and trains, saves, loads and samples through packages score
// and sample without changes there. Adam and EMA see only the parameter
// vector.
//
// # MLP
//
// An MLP (Config, New) joins x with an embedding e(t) of E features and
// applies L = len(Hidden)+1 affine layers, SiLU between them:
//
//	h_0 = [x, e(t)]                      (D + E values)
//	z_l = h_{l-1} W_l + b_l,  h_l = SiLU(z_l)   for l = 1..L-1
//	f(x, t) = z_L = h_{L-1} W_L + b_L    (D values)
//
// On a batch the rows are samples: H_l is n x width_l, and each layer is one
// matrix product (see BLAS below). W_l is stored
// row-major in_l x out_l, followed by b_l, for l = 1..L in order
// (MLP.Params). Initial weights and biases are U(-1/sqrt(in_l),
// 1/sqrt(in_l)) (PyTorch's nn.Linear default), drawn from Config.Seed.
//
// # Conditional networks
//
// With Config.Classes = C > 0 the MLP is conditional (Conditional,
// ConditionalTrainable): a learned label embedding Y of C+1 rows of width
// out_1 (the last row for NullLabel = -1, the "no class" of classifier-free
// guidance, Ho & Salimans 2022) is added to the first pre-activation,
//
//	z_1 = h_0 W_1 + b_1 + Y[y]
//
// which is the same as joining a one-hot of y (C+1 values) to h_0. Y
// follows the layers in Params, drawn U(-1/sqrt(in_1), 1/sqrt(in_1)) after
// them, so a conditional network has the layer weights of the unconditional
// one of its seed; its gradient is dY_y = sum of the rows of dZ_1 with label
// y. Forward and InputVJP compute the NullLabel output. Classes = 0 is left
// out of the JSON config: unconditional checkpoints are unchanged.
//
// # Classifier
//
// Classifier (kind "mlp-classifier", ClassifierConfig) is the same core with
// C outputs, the logits l(x, t), and p_t(c | x) = softmax(l)_c (Dhariwal &
// Nichol 2021's noise-conditional classifier; t = 0 for a clean one).
// CrossEntropy gives -(1/n) sum log softmax(l_i)_{y_i} and its gradient
// (softmax(l_i) - e_{y_i})/n for Backward; LogProbGradTo is the guidance
// term grad_x log p_t(c | x), the backward pass of e_c - softmax(l) to the
// input; Features is the last hidden layer's activations (for a Frechet
// distance). A checkpoint holds a classifier like a network
// (NewCheckpoint takes any Saveable); Checkpoint.Classifier rebuilds it,
// and Net or InferenceNet of a classifier's checkpoint, or Classifier of a
// score network's, is an error saying what the file holds.
//
// # Autoencoder
//
// Autoencoder (AutoencoderConfig) is the first stage of latent diffusion
// (package latent): an encoder from D values to (mu, log sigma^2) of a
// K-dim Gaussian q(u | x), and a decoder from K values back to D. TrainLoss
// gives ||D(mu + sigma xi) - x||^2 + beta KL(q || N(0, I)) per row,
// averaged, and its gradient (Rombach et al. 2022's KL-regularised
// autoencoder, beta = KLWeight, default 1e-3); log sigma^2 is clamped to
// [-30, 20] (zero gradient outside). The latent scale factor 1/std of the
// training latents lives in its config. One type serves two architectures
// (Arch), behind an internal interface of two halves:
//
//   - "mlp" (kind "mlp-autoencoder"; the default, and the only one before
//     the convolutional autoencoder, whose checkpoints load and save
//     unchanged): both halves on the MLP core, each with a constant time
//     input t = 0, float64.
//   - "conv" (kind "conv-autoencoder"): both halves are plans of the
//     U-Net's graph, run by its cores, in either precision (below).
//
// Checkpoint.Autoencoder rebuilds either kind (and refuses a kind that its
// config contradicts); Net, InferenceNet and Classifier of its checkpoint
// are errors that say what it holds, as is Autoencoder of any other
// checkpoint.
//
// # Convolutional autoencoder
//
// The f = 2^(L-1) first stage of Rombach et al. 2022 (their "KL-reg.,
// f = 4" on Fashion-MNIST's 1x28x28 by default), made small. With the
// U-Net's notation (c_l = Base Mult[l], L = len(Mult) resolutions, GN
// GroupNorm with Groups groups) and its residual block without the time
// term,
//
//	Block(x -> c):  h = Conv3(SiLU(GN(x))),  out = Conv3(SiLU(GN(h))) + x (or + Conv1(x))
//	encoder:  h = Conv3(x) to c_0; l = 0..L-1: NumRes Blocks to c_l, AvgPool2 (l < L-1);
//	          (mu, log sigma^2) = Conv3(SiLU(GN(h))) to 2 Kc channels at H/f x W/f
//	decoder:  h = Conv3(u) to c_{L-1}; l = L-1..0: NumRes Blocks to c_l,
//	          Upsample2 (nearest) and Conv3 to c_{l-1} (l > 0);
//	          x^ = Conv3(SiLU(GN(h))) to C channels
//
// with Kc = LatentChannels. The latent u is the Kc x H/f x W/f image, one
// row channel-major (mu's Kc channels, then log sigma^2's, are the
// encoder's output row, as the MLP's [mu, log sigma^2]), so K = Kc H W /
// f^2; LatentShape gives (Kc, H/f, W/f). Unlike the paper's first stage
// there is no middle block, no attention, pooling instead of strided
// convolutions, one block per resolution, and no perceptual or adversarial
// loss: the same squared error and KL as the MLP's. The defaults (Kc 4,
// Base 32, Mult 1,2,2: 32 channels at 28x28, 64 at 14x14 and at 7x7, NumRes
// 1, Groups 8) have 380,489 parameters on 1x28x28 and a 4x7x7 latent (196
// values, 4x fewer than the pixels). The plans have no time input: the
// cores skip the time features (te = -1) and the blocks their Dense(s)
// term, so no convolution code is duplicated. Parameters are the encoder's
// plan then the decoder's, each in layout order, drawn as the U-Net's from
// (Seed, initStream) and (Seed ^ "decoder", initStream). In float64 the
// cores read Params; in float32 they hold rounded copies (SyncParams, as
// UNet32) and each half's gradient is computed in float32 and added to the
// float64 Grads. EncodeTo and DecodeTo run 32 images at a time, TrainLoss
// the whole batch; neither the chunks nor the workers change a bit.
// Gradients are checked against finite differences (parameters, and the
// decoder's input gradient that the reparameterisation carries to the
// encoder) in float64, float32 against float64.
//
// # Time embeddings
//
// With tau = TimeScale t (default 1 for Fourier and 1000 for sinusoidal,
// which maps t in [0, 1] onto DDPM's step indices; score_sde uses 999) and
// k = 0..E/2-1:
//
//	Gaussian Fourier features (Tancik et al. 2020; score SDE, Song et al. 2021):
//	  W_k ~ N(0, s^2) drawn once and kept fixed (s = FourierScale, 16 in the reference),
//	  e(t) = [sin(2 pi W_k tau), cos(2 pi W_k tau)]
//	sinusoidal (Vaswani et al. 2017, as in Ho et al. 2020):
//	  f_k = 10000^(-k/(E/2 - 1))  (f_0 = 1 when E = 2),
//	  e(t) = [sin(f_k tau), cos(f_k tau)]
//
// The sines come first, then the cosines. The embedding is computed in
// float64 in both precisions; the W_k are kept with the network
// (MLP.Buffers) and in checkpoints.
//
// # SiLU
//
// SiLU (Elfwing et al. 2018; "swish") and its derivative, with the logistic
// sigmoid s(z) = 1/(1 + exp(-z)) kept from the forward pass:
//
//	SiLU(z) = z s(z),  SiLU'(z) = s(z) (1 + z (1 - s(z)))
//
// On amd64 with AVX2 and FMA the element-wise kernels, and Adam's update,
// are assembly (exp by range reduction u = k ln 2 + r and a Taylor
// polynomial of r, within a few ulp); build with -tags purego for Go only.
//
// # Backpropagation
//
// Given G_L = dLoss/dF (n x D) for the rows of the last ForwardTrain,
// Backward adds to the gradients, for l = L..1,
//
//	dW_l = H_{l-1}^T G_l,   db_l = 1^T G_l,
//	G_{l-1} = (G_l W_l^T) * SiLU'(Z_{l-1})   (element-wise),
//
// and InputVJP, with G_L = v, returns v^T df/dx = G_1 W_1^T restricted to
// the first D columns (the rows of W_1 that multiply x). Rows are
// independent, so this is one vector-Jacobian product per sample, the
// quantity a Hutchinson trace estimator needs.
//
// ForwardVJP (ForwardVJPer) gives f and v^T df/dx from one forward pass, and
// ForwardTrace (ForwardTracer) gives f and tr(df/dx) = sum_j e_j^T (df/dx) e_j
// from one forward and D backward passes: what a likelihood evaluation needs,
// without the second forward that Forward then InputVJP pay. The input VJP
// multiplies G_l by a transposed copy of W_l (an untransposed product packs
// faster), rebuilt after the weights change (SyncParams, or MLP.Params,
// whose slice the caller may write); training's Backward does not use it.
//
// # Adam, warm-up, clipping, EMA
//
// Adam (Kingma & Ba 2015, weight decay 0) in PyTorch's arrangement of the
// bias corrections, with step t = 1, 2, ..., gradient g and the learning rate
// of a linear warm-up and global-norm clipping as in the score SDE reference:
//
//	g     <- g min(1, ClipNorm/(||g||_2 + 1e-6))         (if ClipNorm > 0)
//	m_t    = beta1 m_{t-1} + (1 - beta1) g
//	v_t    = beta2 v_{t-1} + (1 - beta2) g^2
//	lr_t   = LR min(1, t/Warmup)                          (if Warmup > 0)
//	theta <- theta - lr_t/(1 - beta1^t) m_t / (sqrt(v_t)/sqrt(1 - beta2^t) + eps)
//
// The reference evaluates the warm-up at its step counter before the
// increment, so its first step has learning rate 0; here step t uses t/Warmup.
// A NaN or infinite gradient norm is returned as an error and nothing
// changes. The exponential moving average of the parameters (Polyak
// averaging; the weights score SDE samples with) is
//
//	shadow <- shadow - (1 - d)(shadow - theta),
//	d = Decay, or min(Decay, (1 + k)/(10 + k)) at update k with UseNumUpdates,
//
// and EMA.Net gives a network that computes with the shadow weights.
//
// # Precision
//
// MLP computes in float64; MLP32 in float32 (weights, activations, Sgemm)
// behind the same float64 API. Both are Trainable with float64 parameters:
// MLP32 keeps a float64 master copy that Adam and the EMA update and
// SyncParams rounds to float32, so optimiser state, EMA and checkpoints are
// the same for both, and a checkpoint's MLP loads into either precision:
// MLPWithPrecision(ck.InferenceNet(), "float32") rounds the float64 weights
// (the float32 network of the same seed, bit for bit), and "float64" gives
// an MLP32's master copy back exactly.
//
// # BLAS
//
// By default (no cgo) on CPUs with AVX2 and FMA the matrix products run on
// sdekit's own kernels, internal/gemm: packed panels and AVX2 + FMA
// micro-kernels (6 x 8 float64, 6 x 16 float32; 12 x 32 float32 with
// AVX-512) in which every element of C is one ordered sum, so results do
// not depend on tiling, kernel or workers. Without
// AVX2 and FMA (or with -tags purego) they run on gonum's pure-Go BLAS, in
// tiles of at most 64 x 192 that keep it serial (internal/gemm's portable
// kernels give its bits but are much slower; see ownGemm).
// Trainable.SetWorkers spreads a product over goroutines in such tiles.
// Against gonum's pure-Go BLAS, which they replace, a training step of the
// anchor network (batch 512, one worker) measured 4.2-5.4x faster in float64
// and 4.5-5.3x in float32: go test -run '^$' -bench TrainStep ./model, run
// at commit c564226 (gonum) and then with internal/gemm, back to back:
// float64 151/52/14 -> 640/241/76 steps/s, float32 212/83/25 -> 949/398/133
// at widths 64/128/256. gonum's BLAS still does
// the matrix-vector products. With the netlib build tag the package
// installs gonum.org/v1/netlib's cgo BLAS for the whole program, products
// included, e.g. Debian's OpenBLAS:
//
//	apt-get install libopenblas-dev
//	CGO_LDFLAGS=-lopenblas go test -tags netlib ./model/
//	OPENBLAS_NUM_THREADS=1 CGO_LDFLAGS=-lopenblas go test -tags netlib -run X -bench TrainStep ./model/
//
// OpenBLAS then runs its own threads (OPENBLAS_NUM_THREADS). BLAS reports
// which implementation is in use. Results differ between BLAS in the last
// bits, not between runs of one build on one machine.
//
// # U-Net
//
// A UNet (UNetConfig, NewUNet; kind "unet", float64 UNet and float32
// UNet32) is a convolutional score network on images of C x H x W (Dim =
// CHW, each row channel-major), after Ronneberger et al. 2015 as Ho et al.
// 2020 use it, simplified. With c_l = Base Mult[l] for the L = len(Mult)
// resolutions (each but the last halves the image by 2x2 average pooling),
// s = SiLU(Dense(SiLU(Dense(e(t))))) the time embedding (e(t) as the MLP's,
// TembDim wide), GN GroupNorm with Groups groups (Wu and He 2018),
//
//	ResBlock(x -> c):  h  = Conv3(SiLU(GN(x))) + Dense_c(s)   (per channel)
//	                   h' = Conv3(Dropout(SiLU(GN(h))))
//	                   out = h' + x, or + Conv1(x) when x has other than c channels
//	Attention(x):      [Q K V] = Conv1(GN(x)), P = softmax(Q K^T / sqrt(C)) by rows
//	                   out = x + Conv1(P V)   (one head over the H W pixels)
//
// and the network is
//
//	h = Conv3(x) to Base channels
//	down, l = 0..L-1: NumRes ResBlocks to c_l; skip_l = h; AvgPool2 (l < L-1)
//	middle: ResBlock, Attention (Attention "mid"), ResBlock, at c_{L-1}
//	up, l = L-1..0: h = [h, skip_l] (channels); NumRes ResBlocks to c_l;
//	                Upsample2 (nearest) and Conv3 to c_{l-1} (l > 0)
//	f(x, t) = Conv3(SiLU(GN(h))) to C channels
//
// Conv3 is a 3x3 convolution with zero padding 1, Conv1 a 1x1 one; every
// convolution and Dense has a bias. H and W must be divisible by 2^(L-1)
// and Groups must divide every normalised channel count (Validate names the
// offending one). Initial weights are PyTorch's defaults
// (U(-1/sqrt(fan_in), 1/sqrt(fan_in)); GroupNorm gamma 1, beta 0), drawn
// from Seed. The defaults (Base 32, Mult 1,2,2, NumRes 1, Groups 8,
// attention at the lowest resolution, E = 32 Fourier features, TembDim 128,
// no dropout) have 718,753 parameters on 1x28x28 (Fashion-MNIST), the size
// proposed for training on two CPU cores; scripts/unet_torch_bench.py builds
// the same network in PyTorch.
//
// Dropout (Srivastava et al. 2014) is inverted (kept values scaled by
// 1/(1-p)) and acts in ForwardTrain only. Each image's masks come from a
// stream keyed by a hash of Seed and the row's t and x, so they depend
// neither on the batch nor on the network object: a run resumed from a
// checkpoint draws the masks the uninterrupted run drew.
//
// Activations are NHWC (a batch of images is a matrix of pixel rows), so a
// 1x1 convolution is one product and a 3x3 one is the product of the
// im2col rows (pixel p, column (ky*3 + kx) C_in + c_in) with the weights,
// stored (9 C_in) x C_out. Backward uses
//
//	dW = sum over pixels of im2col(x)^T dy,  db = sum dy,
//	dx = Conv3 of dy with the flipped kernel W'[(8-t) C_out + co][ci] = W[t C_in + ci][co],
//	GroupNorm: with g = dz gamma, dx = r (g - mean(g) - xhat mean(g xhat)) per image and group,
//	attention: dP = dO V^T, dV = P^T dO, dS = P (dP - rowsum(dP P)) / sqrt(C), dQ = dS K, dK = dS^T Q,
//
// all checked against finite differences, layer by layer and whole. In
// float32 on CPUs with AVX-512 the convolutions run on internal/gemm's
// direct tiles over zero-padded grids (ConvTile32, TileTN32: no im2col, no
// packing), elsewhere on im2col and gemm; every output element is the same
// ordered FMA chain either way, so the bits agree (tested), and workers
// (SetWorkers) split tiles, and GroupNorm's images, without changing them.
// GroupNorm's sums run over blocks of 16 pixels in the network's precision,
// then in float64; its float32 loops have AVX2 kernels with the Go loops'
// bits. Forward, InputVJP and ForwardVJP (both from one forward pass)
// run 32 images at a time (rows are independent there) to bound the
// workspace.
// A training step of the default network (batch 64, one thread, float32)
// took 3-8 % less CPU time than PyTorch 1.13's on the development machine
// (docs/bench.md, "U-Net", with the command).
//
// # Checkpoints
//
// SaveCheckpoint writes, atomically (temporary file, sync, rename), the magic
// "SDEKITCK", a format version (CheckpointVersion, 2), a JSON header (the
// network's kind and config, array lengths, step, Adam and EMA
// hyperparameters and counters, free-form Meta such as the SDE a score
// model was trained for), the parameters, buffers, Adam moments and EMA
// shadow as raw IEEE bits, an opaque generator state, and a SHA-256 of all
// of it. Save and load round-trip bit for bit, so training resumes exactly.
// Version 1, written before network kinds, has no kind and the MLP's Config
// as its config; it loads as kind "mlp". LoadCheckpoint reports a file that
// is not a checkpoint, truncated, corrupt, of another version or
// inconsistent (for a registered kind, one its builder refuses) as
// "model: checkpoint PATH: ..."; a checkpoint of a kind this program has
// not registered loads, and Net says which kind is missing.
//
// # Sources
//
//   - Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole,
//     Score-based generative modeling through stochastic differential
//     equations, ICLR 2021, arXiv:2011.13456, and its code
//     yang-song/score_sde_pytorch (GaussianFourierProjection,
//     get_timestep_embedding, optimization_manager, ExponentialMovingAverage).
//   - J. Ho, A. Jain, P. Abbeel, Denoising diffusion probabilistic models,
//     NeurIPS 2020, arXiv:2006.11239 (sinusoidal step embedding).
//   - A. Vaswani et al., Attention is all you need, NeurIPS 2017,
//     arXiv:1706.03762 (sinusoidal positional encoding).
//   - J. Ho, T. Salimans, Classifier-free diffusion guidance, NeurIPS 2021
//     workshop, arXiv:2207.12598 (null label, label dropout).
//   - P. Dhariwal, A. Nichol, Diffusion models beat GANs on image
//     synthesis, NeurIPS 2021, arXiv:2105.05233 (noise-conditional
//     classifier guidance).
//   - D. P. Kingma, J. Ba, Adam: a method for stochastic optimization, ICLR
//     2015, arXiv:1412.6980.
//   - M. Tancik et al., Fourier features let networks learn high frequency
//     functions in low dimensional domains, NeurIPS 2020, arXiv:2006.10739.
//   - S. Elfwing, E. Uchibe, K. Doya, Sigmoid-weighted linear units for
//     neural network function approximation in reinforcement learning,
//     Neural Networks 107 (2018), arXiv:1702.03118.
//   - R. Rombach, A. Blattmann, D. Lorenz, P. Esser, B. Ommer,
//     High-resolution image synthesis with latent diffusion models, CVPR
//     2022, arXiv:2112.10752 (the KL-regularised first stage, its f).
//   - D. P. Kingma, M. Welling, Auto-encoding variational Bayes, ICLR 2014,
//     arXiv:1312.6114 (Gaussian encoder, reparameterisation).
//   - O. Ronneberger, P. Fischer, T. Brox, U-Net: convolutional networks for
//     biomedical image segmentation, MICCAI 2015, arXiv:1505.04597.
//   - Y. Wu, K. He, Group normalization, ECCV 2018, arXiv:1803.08494.
//   - N. Srivastava et al., Dropout: a simple way to prevent neural networks
//     from overfitting, JMLR 15 (2014).
//   - K. Chellapilla, S. Puri, P. Simard, High performance convolutional
//     neural networks for document processing, IWFHR 2006 (im2col).
//   - B. T. Polyak, A. B. Juditsky, Acceleration of stochastic approximation
//     by averaging, SIAM J. Control Optim. 30 (1992).
package model
