package sample

import (
	"context"
	"fmt"
	"math"
)

// UniPC is the unified predictor-corrector of Zhao, Bai, Rao, Zhou and Lu
// 2023 ("UniPC: a unified predictor-corrector framework for fast sampling of
// diffusion models", NeurIPS 2023): the multistep predictor UniP-p and the
// corrector UniC-p with the paper's B_2(h) = e^h - 1 ("bh2" in its code;
// in data prediction h enters with its sign flipped, B = e^{-h} - 1).
//
// In the notation of dpmmulti.go (J_k, ratio, scale), with the model outputs
// m_0 at lambda_s (the current point) and m_1, m_2, ... at the previous grid
// points, r_i = (lambda_i - lambda_s)/h < 0 and D_i = (m_i - m_0)/r_i, the
// step is (UniPC section 3, UniP and UniC with B(h); the reference's
// multistep_uni_pc_bh_update)
//
//	x_t = ratio x_s + scale J_0 (m_0 + sum_i a_i D_i),
//
// where the a_i solve R a = g: R_(k,i) = r_i^(k-1), g_k = k! J_k/(h^k J_0)
// (the paper's order conditions; with bh2, B(h) is J_0 up to the sign of
// the prediction form). These are exactly the conditions for the update to
// integrate a polynomial model output of degree len(a) exactly (its k-th
// derivative meets sum_i a_i r_i^(k-1) = g_k), so:
//
//   - the predictor UniP-p uses the p-1 previous outputs: exact for degree
//     p-1, order p. For p = 2 the reference (uni_pc.py) takes a_1 = 1/2
//     instead of g_1 (a simplification with the same order): that step is
//     then exactly DPM-Solver++(2M) (Algorithm 2's midpoint rule).
//   - the corrector UniC-p adds the output m_t at the predicted x_t (r = 1)
//     to the same p-1 previous ones and recomputes x_t from x_s: exact for
//     degree p, order p+1. m_t is the model evaluation the next step needs
//     anyway (it stays the history value although x_t moves), so the
//     corrector costs no evaluation. For p = 1 the reference takes a = 1/2
//     (the trapezoidal rule in the exponential integrator; order 2).
//
// Order 2 is thus a second-order predictor corrected to third order, and
// order 3 (the default) a third-order one corrected to fourth. The warm-up uses the history there is (step k has order
// min(p, k)), the final steps of runs under 10 steps a lower order (the
// rule of dpmmulti.go), and the last step has no corrector (it would need an
// evaluation at the end point, which nothing else uses): NFE = steps.
type UniPC struct {
	// Order is the order p of the predictor, 1 to 3; 0 selects 3 (UniPC-3,
	// the paper's choice for unconditional sampling; on the frontier of
	// docs/samplers.md, at 10 and 20 evaluations on gmm8 and gauss:64
	// under vp, subvp, ve and edm, its path error is smaller than p = 2's
	// in 10 of the 16 cases, up to 100 times on gauss:64, and at most 1.5
	// times larger in the others). With the corrector the method has order
	// p+1.
	Order int
	// Steps is the number of steps (= score evaluations); 0 selects 20.
	Steps int
	// Prediction is "data" (the default, as DPM-Solver++) or "noise".
	Prediction string
	// Grid is the spacing of the steps; default logsnr.
	Grid
}

// maxUniPCOrder bounds the order: the paper's experiments use p <= 3, and
// higher orders extrapolate from points further back than a grid of 10-20
// steps keeps close.
const maxUniPCOrder = 3

// defaultUniPCOrder is UniPC-3 (see UniPC.Order).
const defaultUniPCOrder = 3

// Name returns "unipc".
func (*UniPC) Name() string { return "unipc" }

// Options returns order, steps, prediction, schedule and rho.
func (s *UniPC) Options() []Option {
	return append([]Option{
		IntOption(&s.Order, "order", defaultUniPCOrder, "order p of UniPC's predictor, 1 to 3 (the corrector raises it to p+1)"),
		stepsOption(&s.Steps),
		predictionOption(&s.Prediction, PredictionData),
	}, s.gridOptions(ScheduleLogSNR)...)
}

// Prepare fills the defaults and builds the plan.
func (s *UniPC) Prepare(c *Config) (Plan, error) {
	if s.Order == 0 {
		s.Order = defaultUniPCOrder
	}
	if s.Order < 1 || s.Order > maxUniPCOrder {
		return nil, optionErrorf(s, "UniPC.Order", "order", s.Order, "use an order from 1 to %d (0 selects %d)", maxUniPCOrder, defaultUniPCOrder)
	}
	g, err := prepareMultistep(s, "UniPC", c, &s.Steps, &s.Prediction, &s.Grid, s.Order)
	if err != nil {
		return nil, err
	}
	return newUniPCPlan(c, g, s.Order, s.Prediction == PredictionData)
}

// Describe gives the order, steps, schedule and prediction.
func (s *UniPC) Describe() string {
	return fmt.Sprintf("bh2, predictor order %d + corrector (order %d), ", s.Order, s.Order+1) +
		describeMultistep(s.Steps, s.Order, s.Prediction, s.Grid) + ", no corrector on the last step"
}

// uniStep is one step of UniPC from grid point k-1 to k: the predictor
// x_p = ratio x + sum_j wp[j] m_j and the corrector x = ratio x + sum_j
// wc[j] m_j + wc[q] m_t (m_t: the model at x_p, the last weight), scale
// folded into the weights.
type uniStep struct {
	ratio    float64
	wp, wc   []float64
	corrects bool
}

// uniCoefs returns the a_i of UniPC's order conditions R a = g over the
// points r (see UniPC's comment): k! J_k/(h^k J_0) for k = 1..len(r).
func uniCoefs(r []float64, J [4]float64, h float64) ([]float64, error) {
	n := len(r)
	A := make([][]float64, n)
	rhs := make([]float64, n)
	fact, hk := 1.0, 1.0
	for k := 1; k <= n; k++ {
		fact *= float64(k)
		hk *= h
		A[k-1] = make([]float64, n)
		for i, ri := range r {
			A[k-1][i] = math.Pow(ri, float64(k-1))
		}
		rhs[k-1] = fact * J[k] / (hk * J[0])
	}
	return solveSmall(A, rhs)
}

// solveSmall solves A a = b by Gaussian elimination with partial pivoting
// (n <= 3 here); A and b are overwritten.
func solveSmall(A [][]float64, b []float64) ([]float64, error) {
	n := len(b)
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(A[r][c]) > math.Abs(A[p][c]) {
				p = r
			}
		}
		if A[p][c] == 0 {
			return nil, fmt.Errorf("sample: UniPC's order conditions are singular (two grid points share a lambda)")
		}
		A[c], A[p] = A[p], A[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := A[r][c] / A[c][c]
			for j := c; j < n; j++ {
				A[r][j] -= f * A[c][j]
			}
			b[r] -= f * b[c]
		}
	}
	a := make([]float64, n)
	for c := n - 1; c >= 0; c-- {
		s := b[c]
		for j := c + 1; j < n; j++ {
			s -= A[c][j] * a[j]
		}
		a[c] = s / A[c][c]
	}
	return a, nil
}

// uniWeights returns the step from grid point k-1 to k of order q: the
// predictor's weights on m_0..m_(q-1) and the corrector's on the same and on
// m_t (without scale).
func uniWeights(g *marginalGrid, k, q int, data bool) (wp, wc []float64, wNew float64, err error) {
	l := g.lambda
	h := l[k] - l[k-1]
	J := expInts(h, data)
	r := make([]float64, q-1) // r_i = (lambda_(k-1-i) - lambda_(k-1))/h, i = 1..q-1
	for i := range r {
		r[i] = (l[k-2-i] - l[k-1]) / h
	}
	// x = J_0 (m_0 + sum_i a_i (m_i - m_0)/r_i): weights on m_0 and m_i.
	spread := func(a []float64) []float64 {
		w := make([]float64, q)
		w[0] = J[0]
		for i := range r {
			c := J[0] * a[i] / r[i]
			w[i+1] += c
			w[0] -= c
		}
		return w
	}
	var ap []float64
	switch q {
	case 1:
	case 2:
		ap = []float64{0.5}
	default:
		if ap, err = uniCoefs(r, J, h); err != nil {
			return nil, nil, 0, err
		}
	}
	wp = spread(ap)
	rc := append(append([]float64(nil), r...), 1)
	var ac []float64
	if q == 1 {
		ac = []float64{0.5}
	} else if ac, err = uniCoefs(rc, J, h); err != nil {
		return nil, nil, 0, err
	}
	wc = spread(ac) // the history part; a's last entry is m_t's
	wNew = J[0] * ac[q-1]
	wc[0] -= wNew
	return wp, wc, wNew, nil
}

// uniPCPlan is a prepared unipc.
type uniPCPlan struct {
	g        marginalGrid
	order    int
	data     bool
	steps    []uniStep
	priorStd float64
}

func newUniPCPlan(c *Config, g marginalGrid, order int, data bool) (*uniPCPlan, error) {
	n := len(g.t) - 1
	pl := &uniPCPlan{g: g, order: order, data: data, priorStd: c.SDE.PriorStd()}
	for k := 1; k <= n; k++ {
		wp, wc, wNew, err := uniWeights(&g, k, stepOrder(order, k, n), data)
		if err != nil {
			return nil, err
		}
		ratio, scale := g.linearPart(k, data)
		for j := range wp {
			wp[j] *= scale
			wc[j] *= scale
		}
		pl.steps = append(pl.steps, uniStep{ratio: ratio, wp: wp, wc: append(wc, wNew*scale), corrects: k < n})
	}
	return pl, nil
}

func (pl *uniPCPlan) PriorStd() float64 { return pl.priorStd }
func (pl *uniPCPlan) Path() []float64   { return pl.g.t }

// Run keeps the model outputs of the last order+1 grid points in a ring of
// scratch slices (the corrector needs the p-1 previous ones, m_0 and m_t):
// the output at grid point i lives in slot i mod (order+1).
func (pl *uniPCPlan) Run(ctx context.Context, b *Block) error {
	m, n := b.M(), b.M()*b.D
	x := b.X
	score, xp := b.Scratch(0, n), b.Scratch(1, n)
	R := pl.order + 1
	var ring [maxUniPCOrder + 1][]float64
	for i := 0; i < R; i++ {
		ring[i] = b.Scratch(2+i, n)
	}
	g := &pl.g
	predictTo(b, ring[0], score, x, g.t[0], g.alpha[0], g.sigma[0], pl.data, 0, m)
	var hist [maxUniPCOrder + 1][]float64
	for k := 1; k <= len(pl.steps); k++ {
		if err := Stopped(ctx); err != nil {
			return err
		}
		st := &pl.steps[k-1]
		q := len(st.wp)
		for j := 0; j < q; j++ {
			hist[j] = ring[(k-1-j)%R]
		}
		if !st.corrects {
			msCombine(x, x, st.ratio, st.wp, hist[:q])
		} else {
			msCombine(xp, x, st.ratio, st.wp, hist[:q])
			mt := ring[k%R]
			predictTo(b, mt, score, xp, g.t[k], g.alpha[k], g.sigma[k], pl.data, 0, m)
			hist[q] = mt // one pass for the history and m_t
			msCombine(x, x, st.ratio, st.wc, hist[:q+1])
		}
		if err := b.NonFinite(x, g.t[k]); err != nil {
			return err
		}
		b.Save(k, x)
	}
	b.AddNFE(len(pl.steps))
	return nil
}
