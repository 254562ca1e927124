package model

import (
	"fmt"
	"math"
)

// Adam is the Adam optimiser (Kingma & Ba 2015, weight decay 0) with a linear
// learning-rate warm-up and global-norm gradient clipping, as in the score SDE
// reference's optimization_manager. The exported state (T, M, V) is what a
// checkpoint saves so that training resumes exactly.
type Adam struct {
	LR    float64 // peak learning rate
	Beta1 float64 // first-moment decay, usually 0.9
	Beta2 float64 // second-moment decay, usually 0.999
	Eps   float64 // added to sqrt(v-hat), usually 1e-8
	// Warmup is the number of steps over which the learning rate rises
	// linearly to LR: step t (1-based) uses LR min(1, t/Warmup). 0: no warm-up.
	Warmup int
	// ClipNorm is the threshold of global-norm clipping: when ||g|| > ClipNorm
	// the gradient is scaled by ClipNorm/(||g|| + 1e-6) (PyTorch's
	// clip_grad_norm_). 0: no clipping.
	ClipNorm float64

	T    int       // steps taken
	M, V []float64 // first and second moments; nil until the first step
}

// NewAdam returns Adam with the usual constants (beta1 = 0.9,
// beta2 = 0.999, eps = 1e-8), no warm-up and no clipping.
func NewAdam(lr float64) *Adam {
	return &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// LearningRate returns the learning rate of step t (1-based).
func (a *Adam) LearningRate(t int) float64 {
	if a.Warmup > 0 && t < a.Warmup {
		return a.LR * float64(t) / float64(a.Warmup)
	}
	return a.LR
}

// Step updates net's parameters from its gradients and calls SyncParams. It
// returns the global gradient norm before clipping; see Update for errors.
func (a *Adam) Step(net Trainable) (gradNorm float64, err error) {
	gradNorm, err = a.Update(net.Params(), net.Grads())
	if err == nil {
		net.SyncParams()
	}
	return gradNorm, err
}

// Update applies one Adam step to params given grads (not modified) and
// returns the global norm of grads before clipping. If that norm is NaN or
// infinite, it returns an error and changes neither params nor the state.
// The moments are allocated on the first call; later calls do not allocate.
func (a *Adam) Update(params, grads []float64) (gradNorm float64, err error) {
	if len(params) != len(grads) {
		panic(fmt.Sprintf("model: Adam: len(params) = %d, len(grads) = %d", len(params), len(grads)))
	}
	if a.M == nil && a.V == nil {
		a.M = make([]float64, len(params))
		a.V = make([]float64, len(params))
	}
	if len(a.M) != len(params) || len(a.V) != len(params) {
		panic(fmt.Sprintf("model: Adam: state holds %d and %d moments, params %d", len(a.M), len(a.V), len(params)))
	}
	gradNorm = norm2(grads)
	if math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		return gradNorm, fmt.Errorf("model: Adam step %d: gradient norm is %v", a.T+1, gradNorm)
	}
	a.T++
	t := float64(a.T)
	scale := 1.0
	if a.ClipNorm > 0 {
		if c := a.ClipNorm / (gradNorm + 1e-6); c < 1 {
			scale = c
		}
	}
	// PyTorch's form of the bias-corrected update:
	// p -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps).
	c := [8]float64{scale, a.Beta1, 1 - a.Beta1, a.Beta2, 1 - a.Beta2,
		a.LearningRate(a.T) / (1 - math.Pow(a.Beta1, t)),
		1 / math.Sqrt(1-math.Pow(a.Beta2, t)), a.Eps}
	n := len(params)
	m, v := a.M[:n], a.V[:n]
	k := 0
	if useAVX2 {
		if k = n &^ 3; k > 0 {
			adamAVX2(&params[0], &grads[0], &m[0], &v[0], k, &c)
		}
	}
	adamScalar(params[k:], grads[k:n], m[k:], v[k:], &c)
	return gradNorm, nil
}

// adamScalar is the Adam update of adamAVX2; the explicit conversions keep
// the compiler from fusing a multiply and an add, so both round alike.
func adamScalar(p, g, m, v []float64, c *[8]float64) {
	scale, b1, omb1, b2, omb2, step, inv, eps := c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
	p, m, v = p[:len(g)], m[:len(g)], v[:len(g)]
	for i, gi := range g {
		gi *= scale
		mi := float64(b1*m[i]) + float64(omb1*gi)
		vi := float64(b2*v[i]) + float64(omb2*float64(gi*gi))
		m[i], v[i] = mi, vi
		p[i] -= float64(step*mi) / (float64(math.Sqrt(vi)*inv) + eps)
	}
}

// norm2 returns the Euclidean norm of x, rescaling when the plain sum of
// squares over- or underflows.
func norm2(x []float64) float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	if ss > 1e-290 && ss <= math.MaxFloat64 {
		return math.Sqrt(ss)
	}
	var mx float64
	for _, v := range x {
		if a := math.Abs(v); a > mx || math.IsNaN(a) {
			mx = a
		}
	}
	if mx == 0 || math.IsNaN(mx) || math.IsInf(mx, 0) {
		return mx
	}
	ss = 0
	for _, v := range x {
		r := v / mx
		ss += r * r
	}
	return mx * math.Sqrt(ss)
}

// clone returns a deep copy of a (nil for nil).
func (a *Adam) clone() *Adam {
	if a == nil {
		return nil
	}
	b := *a
	b.M = append([]float64(nil), a.M...)
	b.V = append([]float64(nil), a.V...)
	if a.M == nil {
		b.M = nil
	}
	if a.V == nil {
		b.V = nil
	}
	return &b
}

// EMA keeps an exponential moving average of a network's parameters (the
// weights sampling uses). With UseNumUpdates, as in the score SDE reference,
// update k (1-based) uses decay min(Decay, (1+k)/(10+k)).
type EMA struct {
	Decay         float64
	UseNumUpdates bool
	NumUpdates    int
	Shadow        []float64 // the averaged parameters
}

// NewEMA returns an EMA of net's parameters starting from their current
// values, with UseNumUpdates set as in the reference.
func NewEMA(net interface{ Params() []float64 }, decay float64) *EMA {
	return &EMA{Decay: decay, UseNumUpdates: true, Shadow: append([]float64(nil), net.Params()...)}
}

// Update moves the shadow towards net's parameters:
// shadow -= (1 - decay)(shadow - params).
func (e *EMA) Update(net Trainable) {
	e.UpdateParams(net.Params())
}

// UpdateParams is Update on a flat parameter vector.
func (e *EMA) UpdateParams(params []float64) {
	if len(params) != len(e.Shadow) {
		panic(fmt.Sprintf("model: EMA: len(params) = %d, shadow has %d", len(params), len(e.Shadow)))
	}
	d := e.Decay
	if e.UseNumUpdates {
		e.NumUpdates++
		k := float64(e.NumUpdates)
		d = min(d, (1+k)/(10+k))
	}
	om := 1 - d
	s := e.Shadow[:len(params)]
	for i, p := range params {
		s[i] -= om * (s[i] - p)
	}
}

// Net returns a copy of like (the network whose parameters the EMA
// averages) whose parameters are the EMA shadow.
func (e *EMA) Net(like Trainable) Trainable {
	if len(e.Shadow) != like.NumParams() {
		panic(fmt.Sprintf("model: EMA.Net: shadow has %d parameters, network %d", len(e.Shadow), like.NumParams()))
	}
	c := CloneTrainable(like)
	copy(c.Params(), e.Shadow)
	c.SyncParams()
	return c
}

func (e *EMA) clone() *EMA {
	if e == nil {
		return nil
	}
	f := *e
	f.Shadow = append([]float64(nil), e.Shadow...)
	return &f
}
