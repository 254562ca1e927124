package sd15

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Net is the network of SD15's experiments: a multilayer perceptron with
// logistic-sigmoid hidden layers shared by all time steps, and a separate
// linear readout for each time step t = 1..T ("readout per time step, lower
// layers shared", SD15 appendix D.2).
//
//	h_0 = x,  h_l = sigmoid(W_l h_{l-1} + b_l),  out(x, t) = R_t h_L + c_t.
//
// With Basis > 0 the readouts are instead tied across time through Basis
// Gaussian bumps in t, R_t = sum_k phi_k(t) R_k with sum_k phi_k(t) = 1, the
// "temporal basis functions" SD15 uses for its Gaussian experiments (appendix
// D.2.1): every training example then teaches the neighbouring steps too.
//
// It is small and written out by hand: the shapes (20 inputs, 50 units) are far
// below where BLAS pays, and the per-step readouts need sparse updates that the
// dense optimiser of package model does not offer.
type Net struct {
	In, Out, T int
	Widths     []int
	W, B       [][]float64 // shared layers: W[l] is Widths[l] x in_l, row-major
	R, C       []float64   // readouts: R is NR x Out x H, C is NR x Out
	NR         int         // number of readouts: T (one per step, t = 1 at index 0) or Basis
	Basis      int         // 0: one readout per step; > 0: Gaussian bumps in t
	phiK       [][]int     // per step t-1: the readouts it uses
	phiW       [][]float64 // and their weights
}

// NewNet returns a network with small random weights (uniform in
// +-1/sqrt(fan-in)) drawn from r.
func NewNet(in, out, T int, widths []int, basis int, r *rand.Rand) *Net {
	if in < 1 || out < 1 || T < 1 || len(widths) == 0 || basis < 0 {
		panic(fmt.Sprintf("sd15: NewNet(%d, %d, %d, %v, %d): need positive sizes and at least one hidden layer", in, out, T, widths, basis))
	}
	n := &Net{In: in, Out: out, T: T, Widths: append([]int(nil), widths...), Basis: basis}
	prev := in
	for _, w := range widths {
		n.W = append(n.W, uniform(r, w*prev, 1/math.Sqrt(float64(prev))))
		n.B = append(n.B, make([]float64, w))
		prev = w
	}
	n.NR = T
	if basis > 0 {
		n.NR = basis
	}
	n.R = uniform(r, n.NR*out*prev, 1/math.Sqrt(float64(prev)))
	n.C = make([]float64, n.NR*out)
	n.phiK = make([][]int, T)
	n.phiW = make([][]float64, T)
	for t := 1; t <= T; t++ {
		if basis == 0 {
			n.phiK[t-1], n.phiW[t-1] = []int{t - 1}, []float64{1}
			continue
		}
		// Bumps centred on an even grid over [1, T], width one grid spacing;
		// weights below 1e-4 of the total are dropped (they change nothing
		// measurable and cost time), then renormalised.
		width := float64(T-1) / float64(max(basis-1, 1))
		var ks []int
		var ws []float64
		var sum float64
		for k := 0; k < basis; k++ {
			c := 1 + float64(k)*width
			if basis == 1 {
				c = float64(T+1) / 2
			}
			z := (float64(t) - c) / width
			w := math.Exp(-0.5 * z * z)
			ks, ws = append(ks, k), append(ws, w)
			sum += w
		}
		var kk []int
		var ww []float64
		var kept float64
		for i, w := range ws {
			if w/sum >= 1e-4 {
				kk, ww = append(kk, ks[i]), append(ww, w)
				kept += w
			}
		}
		for i := range ww {
			ww[i] /= kept
		}
		n.phiK[t-1], n.phiW[t-1] = kk, ww
	}
	return n
}

// AddStepReadouts gives a network with temporal basis functions a readout of
// its own for every step as well, starting at zero, so that
//
//	out(x, t) = sum_k phi_k(t) (R_k h_L + c_k) + R'_t h_L + c'_t:
//
// the basis learns fast what is smooth in t (every example teaches its
// neighbours) and the per-step readouts learn, slowly, what is not. Call it
// before training (the optimiser sizes its moments then).
func (n *Net) AddStepReadouts() {
	if n.Basis == 0 || n.NR != n.Basis {
		panic("sd15: AddStepReadouts on a network without temporal basis functions or with step readouts already")
	}
	H := n.H()
	n.R = append(n.R, make([]float64, n.T*n.Out*H)...)
	n.C = append(n.C, make([]float64, n.T*n.Out)...)
	for t := 1; t <= n.T; t++ {
		n.phiK[t-1] = append(n.phiK[t-1], n.NR+t-1)
		n.phiW[t-1] = append(n.phiW[t-1], 1)
	}
	n.NR += n.T
}

func uniform(r *rand.Rand, n int, a float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = a * (2*r.Float64() - 1)
	}
	return v
}

// H returns the width of the last hidden layer.
func (n *Net) H() int { return n.Widths[len(n.Widths)-1] }

// Work holds one example's activations; reuse it across calls.
type Work struct {
	act [][]float64 // act[0] = input, act[l+1] = hidden layer l
	del [][]float64
	Out []float64
}

// NewWork returns a workspace for n.
func (n *Net) NewWork() *Work {
	w := &Work{Out: make([]float64, n.Out)}
	w.act = append(w.act, make([]float64, n.In))
	w.del = append(w.del, make([]float64, n.In))
	for _, h := range n.Widths {
		w.act = append(w.act, make([]float64, h))
		w.del = append(w.del, make([]float64, h))
	}
	return w
}

// Forward computes out(x, t) into w.Out (t = 1..T).
func (n *Net) Forward(w *Work, x []float64, t int) []float64 {
	copy(w.act[0], x)
	prev := n.In
	for l, h := range n.Widths {
		in, out := w.act[l], w.act[l+1]
		W, b := n.W[l], n.B[l]
		for i := 0; i < h; i++ {
			s := b[i]
			row := W[i*prev : (i+1)*prev]
			for j, v := range in {
				s += row[j] * v
			}
			out[i] = sigmoid(s)
		}
		prev = h
	}
	hL := w.act[len(n.Widths)]
	H := n.H()
	clear(w.Out)
	for q, k := range n.phiK[t-1] {
		phi := n.phiW[t-1][q]
		R := n.R[k*n.Out*H : (k+1)*n.Out*H]
		c := n.C[k*n.Out : (k+1)*n.Out]
		for o := 0; o < n.Out; o++ {
			s := c[o]
			row := R[o*H : (o+1)*H]
			for j, v := range hL {
				s += row[j] * v
			}
			w.Out[o] += phi * s
		}
	}
	return w.Out
}

// Grad accumulates parameter gradients of one example.
type Grad struct {
	W, B   [][]float64
	R, C   map[int][]float64 // readout gradients, only for the readouts touched
	net    *Net
	freeRC [][]float64
}

// NewGrad returns a zero gradient for n.
func (n *Net) NewGrad() *Grad {
	g := &Grad{net: n, R: map[int][]float64{}, C: map[int][]float64{}}
	for l := range n.W {
		g.W = append(g.W, make([]float64, len(n.W[l])))
		g.B = append(g.B, make([]float64, len(n.B[l])))
	}
	return g
}

// Zero clears g, keeping its memory.
func (g *Grad) Zero() {
	for l := range g.W {
		clear(g.W[l])
		clear(g.B[l])
	}
	for t, r := range g.R {
		g.freeRC = append(g.freeRC, r, g.C[t])
		delete(g.R, t)
		delete(g.C, t)
	}
}

func (g *Grad) take(n int) []float64 {
	if k := len(g.freeRC); k > 0 {
		v := g.freeRC[k-1]
		g.freeRC = g.freeRC[:k-1]
		if len(v) == n {
			clear(v)
			return v
		}
	}
	return make([]float64, n)
}

// Backward adds the gradient of a loss with dL/d out = dOut at (x, t) to g;
// w must hold the activations of Forward(w, x, t).
func (n *Net) Backward(w *Work, g *Grad, dOut []float64, t int) {
	H := n.H()
	L := len(n.Widths)
	hL := w.act[L]
	dh := w.del[L]
	clear(dh)
	for q, k := range n.phiK[t-1] {
		phi := n.phiW[t-1][q]
		gr, ok := g.R[k]
		if !ok {
			gr = g.take(n.Out * H)
			g.R[k] = gr
			g.C[k] = g.take(n.Out)
		}
		gc := g.C[k]
		R := n.R[k*n.Out*H : (k+1)*n.Out*H]
		for o, d0 := range dOut {
			d := phi * d0
			gc[o] += d
			row := R[o*H : (o+1)*H]
			grow := gr[o*H : (o+1)*H]
			for j := range hL {
				grow[j] += d * hL[j]
				dh[j] += d * row[j]
			}
		}
	}
	for l := L - 1; l >= 0; l-- {
		out, in := w.act[l+1], w.act[l]
		dOutL := w.del[l+1]
		prev := len(in)
		for i := range dOutL {
			dOutL[i] *= out[i] * (1 - out[i]) // sigmoid'
		}
		dIn := w.del[l]
		if l > 0 {
			clear(dIn)
		}
		W := n.W[l]
		gW, gB := g.W[l], g.B[l]
		for i, d := range dOutL {
			gB[i] += d
			row := W[i*prev : (i+1)*prev]
			grow := gW[i*prev : (i+1)*prev]
			for j, v := range in {
				grow[j] += d * v
				if l > 0 {
					dIn[j] += d * row[j]
				}
			}
		}
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// adam is Adam for Net with lazy updates of the readouts: a readout's moments
// and bias correction advance only on the steps that touch it, so a step costs
// the shared layers plus the readouts in the batch, not all T of them.
type adam struct {
	lr, b1, b2, eps float64
	t               int
	mW, vW, mB, vB  [][]float64
	mR, vR, mC, vC  []float64
	tR              []int
}

func newAdam(n *Net, lr float64) *adam {
	a := &adam{lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8}
	for l := range n.W {
		a.mW = append(a.mW, make([]float64, len(n.W[l])))
		a.vW = append(a.vW, make([]float64, len(n.W[l])))
		a.mB = append(a.mB, make([]float64, len(n.B[l])))
		a.vB = append(a.vB, make([]float64, len(n.B[l])))
	}
	a.mR, a.vR = make([]float64, len(n.R)), make([]float64, len(n.R))
	a.mC, a.vC = make([]float64, len(n.C)), make([]float64, len(n.C))
	a.tR = make([]int, n.NR)
	return a
}

func (a *adam) update(p, g, m, v []float64, t int, scale float64) {
	c1 := 1 - math.Pow(a.b1, float64(t))
	c2 := 1 - math.Pow(a.b2, float64(t))
	for i := range p {
		gi := g[i] * scale
		m[i] = a.b1*m[i] + (1-a.b1)*gi
		v[i] = a.b2*v[i] + (1-a.b2)*gi*gi
		p[i] -= a.lr * (m[i] / c1) / (math.Sqrt(v[i]/c2) + a.eps)
	}
}

// step applies one update with the gradient g scaled by scale (1/batch).
func (a *adam) step(n *Net, g *Grad, scale float64) {
	a.t++
	for l := range n.W {
		a.update(n.W[l], g.W[l], a.mW[l], a.vW[l], a.t, scale)
		a.update(n.B[l], g.B[l], a.mB[l], a.vB[l], a.t, scale)
	}
	H := n.H()
	for k, gr := range g.R {
		a.tR[k]++
		rs, cs := k*n.Out*H, k*n.Out
		a.update(n.R[rs:rs+n.Out*H], gr, a.mR[rs:rs+n.Out*H], a.vR[rs:rs+n.Out*H], a.tR[k], scale)
		a.update(n.C[cs:cs+n.Out], g.C[k], a.mC[cs:cs+n.Out], a.vC[cs:cs+n.Out], a.tR[k], scale)
	}
}
