package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// quadratic is f(p) = sum a_i (p_i - c_i)^2 / 2 with curvatures a_i from 0.1
// to 100 (condition number 1000).
func quadratic(n int) (a, c []float64) {
	a, c = make([]float64, n), make([]float64, n)
	for i := range a {
		a[i] = 0.1 * math.Pow(1000, float64(i)/float64(n-1))
		c[i] = math.Cos(float64(i))
	}
	return a, c
}

func TestAdamQuadratic(t *testing.T) {
	const n = 13 // 12 go through the AVX2 kernel, 1 through the scalar tail
	a, c := quadratic(n)
	p, g := make([]float64, n), make([]float64, n)
	opt := NewAdam(0.05)
	opt.Warmup = 50
	for step := 0; step < 4000; step++ {
		for i := range p {
			g[i] = a[i] * (p[i] - c[i])
		}
		if _, err := opt.Update(p, g); err != nil {
			t.Fatal(err)
		}
		if step == 3000 { // decay the rate to settle the last oscillations
			opt.LR = 0.005
		}
	}
	// On a noiseless quadratic the moments shrink with the gradient and the
	// iterates converge (observed: ~1e-18 after 4000 steps). 1e-6 is far
	// below the scale of c (|c_i| ~ 0.5) and far above rounding.
	var worst float64
	defer func() { t.Logf("max |p - c| = %.3g", worst) }()
	for i := range p {
		d := math.Abs(p[i] - c[i])
		worst = max(worst, d)
		if d > 1e-6 {
			t.Errorf("p[%d] = %v, minimiser %v", i, p[i], c[i])
		}
	}
	if opt.T != 4000 {
		t.Errorf("T = %d", opt.T)
	}
}

// TestAdamFirstSteps checks the bias-corrected update in closed form: with
// m_0 = v_0 = 0, step 1 moves each coordinate by lr g/(|g| + eps), and a
// constant gradient keeps m-hat = g and v-hat = g^2 at every step.
func TestAdamFirstSteps(t *testing.T) {
	g := []float64{3, -0.5, 1e-3, 0, 2, -7, 0.25, 4, 1}
	p := make([]float64, len(g))
	opt := NewAdam(0.1)
	opt.Warmup = 4
	want := make([]float64, len(g))
	for step := 1; step <= 6; step++ {
		norm, err := opt.Update(p, g)
		if err != nil {
			t.Fatal(err)
		}
		lr := 0.1 * math.Min(1, float64(step)/4)
		if got := opt.LearningRate(step); got != lr {
			t.Errorf("LearningRate(%d) = %v, want %v", step, got, lr)
		}
		for i, gi := range g {
			want[i] -= lr * gi / (math.Abs(gi) + 1e-8)
			// A handful of roundings in the moments and their bias
			// corrections: 1e-14 relative.
			if math.Abs(p[i]-want[i]) > 1e-14*math.Abs(want[i]) {
				t.Errorf("step %d p[%d] = %.17g, want %.17g", step, i, p[i], want[i])
			}
		}
		if math.Abs(norm-norm2(g)) != 0 {
			t.Errorf("gradient norm %v", norm)
		}
	}
}

func TestAdamWarmup(t *testing.T) {
	opt := &Adam{LR: 2, Warmup: 10}
	for _, c := range []struct {
		t    int
		want float64
	}{{1, 0.2}, {5, 1}, {9, 1.8}, {10, 2}, {11, 2}, {1000, 2}} {
		if got := opt.LearningRate(c.t); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("LearningRate(%d) = %v, want %v", c.t, got, c.want)
		}
	}
	opt.Warmup = 0
	if opt.LearningRate(1) != 2 {
		t.Error("no warm-up: learning rate is not LR at step 1")
	}
}

// TestAdamClip checks clipping through the first moment, m_1 = (1 - beta1) g
// scaled: ||g|| = 10 > ClipNorm = 1 scales g by 1/(10 + 1e-6); ||g|| below
// the threshold leaves it alone.
func TestAdamClip(t *testing.T) {
	g := []float64{6, 0, -8} // norm 10
	for _, c := range []struct {
		clip, scale float64
	}{{1, 1 / (10 + 1e-6)}, {20, 1}, {0, 1}} {
		opt := NewAdam(1e-3)
		opt.ClipNorm = c.clip
		p := make([]float64, 3)
		norm, err := opt.Update(p, g)
		if err != nil || norm != 10 {
			t.Fatalf("norm %v, err %v", norm, err)
		}
		b1 := opt.Beta1
		for i, gi := range g {
			// The scale is computed at run time, by a different expression:
			// a few ulp of 0.8, 1e-15.
			want := (1 - b1) * (gi * c.scale)
			if math.Abs(opt.M[i]-want) > 1e-15 {
				t.Errorf("clip %v: M[%d] = %.17g, want %.17g", c.clip, i, opt.M[i], want)
			}
		}
	}
}

func TestAdamNonFinite(t *testing.T) {
	opt := NewAdam(0.1)
	p := []float64{1, 2}
	if _, err := opt.Update(p, []float64{1, 1}); err != nil {
		t.Fatal(err)
	}
	p0, m0, v0 := append([]float64(nil), p...), append([]float64(nil), opt.M...), append([]float64(nil), opt.V...)
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		norm, err := opt.Update(p, []float64{bad, 1})
		if err == nil || !strings.Contains(err.Error(), "step 2") || !(math.IsNaN(norm) || math.IsInf(norm, 0)) {
			t.Errorf("gradient %v: norm %v, err %v", bad, norm, err)
		}
		for i := range p {
			if p[i] != p0[i] || opt.M[i] != m0[i] || opt.V[i] != v0[i] || opt.T != 1 {
				t.Errorf("gradient %v changed the state", bad)
			}
		}
	}
}

// TestAdamKernels checks that the AVX2 Adam kernel and the scalar loop give
// identical bits (both round every operation separately, in the same order).
func TestAdamKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 103
	p, g := make([]float64, n), make([]float64, n)
	for i := range p {
		p[i], g[i] = rng.NormFloat64(), rng.NormFloat64()*math.Pow(10, float64(rng.IntN(9)-4))
	}
	opt := NewAdam(1e-3)
	opt.ClipNorm = 0.5
	q := append([]float64(nil), p...)
	ref := opt.clone()
	for step := 0; step < 3; step++ {
		if _, err := opt.Update(p, g); err != nil {
			t.Fatal(err)
		}
		// The same step through the scalar loop alone.
		if ref.M == nil {
			ref.M, ref.V = make([]float64, n), make([]float64, n)
		}
		ref.T++
		tt := float64(ref.T)
		c := [8]float64{0.5 / (norm2(g) + 1e-6), ref.Beta1, 1 - ref.Beta1, ref.Beta2, 1 - ref.Beta2,
			ref.LearningRate(ref.T) / (1 - math.Pow(ref.Beta1, tt)), 1 / math.Sqrt(1-math.Pow(ref.Beta2, tt)), ref.Eps}
		adamScalar(q, g, ref.M, ref.V, &c)
	}
	for i := range p {
		if math.Float64bits(p[i]) != math.Float64bits(q[i]) || opt.M[i] != ref.M[i] || opt.V[i] != ref.V[i] {
			t.Fatalf("element %d: kernel %.17g, scalar %.17g (AVX2 %v)", i, p[i], q[i], useAVX2)
		}
	}
}

func TestNorm2(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{3, 4}, 5},
		{[]float64{3e200, 4e200}, 5e200},
		{[]float64{3e-200, 4e-200}, 5e-200},
		{[]float64{0, 0}, 0},
		{nil, 0},
		{[]float64{1, math.Inf(-1)}, math.Inf(1)},
	} {
		// One rounding in the sum of squares and one in the square root (and
		// in the rescaling): 4 ulp.
		if got := norm2(c.x); math.Abs(got-c.want) > 4*0x1p-52*c.want && got != c.want {
			t.Errorf("norm2(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if !math.IsNaN(norm2([]float64{1, math.NaN()})) {
		t.Error("norm2 with a NaN is not NaN")
	}
}

func TestEMA(t *testing.T) {
	net := mustNet(t, Config{Dim: 2, Hidden: []int{3}, EmbedDim: 2, Seed: 1})
	s0 := append([]float64(nil), net.Params()...)
	e := NewEMA(net, 0.9)
	e.UseNumUpdates = false
	target := make([]float64, len(s0))
	for i := range target {
		target[i] = float64(i)
	}
	copy(net.Params(), target)
	net.SyncParams()
	for k := 1; k <= 5; k++ {
		e.Update(net)
		// shadow_k = target + (s0 - target) 0.9^k; 5 roundings per update: 1e-14.
		for i := range target {
			want := target[i] + (s0[i]-target[i])*math.Pow(0.9, float64(k))
			if math.Abs(e.Shadow[i]-want) > 1e-14*(1+math.Abs(want)) {
				t.Fatalf("update %d: shadow[%d] = %v, want %v", k, i, e.Shadow[i], want)
			}
		}
	}
	// With the reference's ramp, update 1 uses decay min(0.999, 2/11).
	f := NewEMA(net, 0.999)
	f.Shadow[0] = 1
	net.Params()[0] = 0
	f.Update(net)
	if want := 2.0 / 11; math.Abs(f.Shadow[0]-want) > 1e-16 || f.NumUpdates != 1 {
		t.Errorf("first ramped update: %v, want %v", f.Shadow[0], want)
	}
	// EMA.Net: a network with the shadow weights; net itself unchanged.
	for _, prec := range []string{Float64, Float32} {
		src := mustNet(t, Config{Dim: 2, Hidden: []int{3}, EmbedDim: 2, Precision: prec, Seed: 1})
		em := NewEMA(src, 0.5)
		em.Shadow[0] += 1
		got := em.Net(src)
		if got.Params()[0] != em.Shadow[0] || src.Params()[0] == em.Shadow[0] {
			t.Errorf("%s: EMA.Net parameters", prec)
		}
		x, tt, _ := batch(1, 2, 2)
		y1, y2 := make([]float64, 4), make([]float64, 4)
		src.Forward(y1, x, tt)
		got.Forward(y2, x, tt)
		if y1[0] == y2[0] && y1[1] == y2[1] {
			t.Errorf("%s: EMA net computes with the raw weights", prec)
		}
	}
}
