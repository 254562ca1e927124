package study

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// orderSteps are the step counts of `sdesample order`.
var orderSteps = []int{10, 20, 40, 80, 160}

// checkOrder asserts that sampler name (with opts and -steps N) has global
// order want on gauss:4 under s over orderSteps: the fitted slope within
// 0.25 of want. The band: the error constants change with N before the
// asymptotic regime (the first step from T is the stiffest), which moves a
// five-point fit by about 0.1-0.2; a method one order off misses by 0.75 or
// more.
func checkOrder(t *testing.T, s sde.SDE, name string, opts map[string]string, want float64) OrderResult {
	t.Helper()
	return checkOrderOver(t, s, name, opts, orderSteps, want)
}

// checkOrderOver is checkOrder over other step counts (same band, 0.25).
func checkOrderOver(t *testing.T, s sde.SDE, name string, opts map[string]string, steps []int, want float64) OrderResult {
	t.Helper()
	res := orderOf(t, s, name, opts, steps)
	if math.Abs(res.Order-want) > 0.25 {
		t.Errorf("%s %v on %s: order %.2f over steps %v, want %v (errors %.3g)", name, opts, s.Name(), res.Order, res.Steps, want, res.Err)
	}
	t.Logf("%s %v on %s: order %.2f (errors %.3g at steps %v, NFE %v)", name, opts, s.Name(), res.Order, res.Err, res.Steps, res.NFE)
	return res
}

// orderOf measures the order of sampler name with opts (and -steps N) on
// gauss:4 under s over the given steps: 64 rows of seed 1.
func orderOf(t *testing.T, s sde.SDE, name string, opts map[string]string, steps []int) OrderResult {
	t.Helper()
	eps, _ := sde.DefaultEps(s)
	cfg := sample.Config{SDE: s, Score: score.Gauss(s, 4), Eps: eps, Workers: 1}
	mk := func(n int) (sample.Sampler, error) {
		o := map[string]string{"steps": fmt.Sprint(n)}
		for k, v := range opts {
			o[k] = v
		}
		return sample.NewFromOptions(name, o)
	}
	res, err := Order(context.Background(), cfg, mk, steps, 64, 1)
	if err != nil {
		t.Fatalf("%s on %s: %v", name, s.Name(), err)
	}
	return res
}

// FlowTo against a fine RK4 solve of dx/dt = a x - g^2 score/2 with the
// exact score: 1e-8 is far above RK4's global error at 20000 steps on this
// smooth problem and far below the flow's scale.
func TestFlowToAgainstRK4(t *testing.T) {
	s := sde.NewVP()
	m := score.Gauss(s, 3)
	x := []float64{0.3, -1.2, 2, 1, 0, -0.5}
	want := make([]float64, len(x))
	if err := m.FlowTo(want, x, 1, 1e-3); err != nil {
		t.Fatal(err)
	}
	y := append([]float64(nil), x...)
	f := func(dst, y []float64, tt float64) {
		ts := []float64{tt, tt}
		m.ScoreTo(dst, y, ts)
		a, g := s.DriftCoef(tt), s.Diffusion(tt)
		for i := range dst {
			dst[i] = a*y[i] - 0.5*g*g*dst[i]
		}
	}
	const n = 20000
	h := (1e-3 - 1.0) / n
	k1, k2, k3, k4, tmp := make([]float64, 6), make([]float64, 6), make([]float64, 6), make([]float64, 6), make([]float64, 6)
	for i := 0; i < n; i++ {
		tt := 1 + float64(i)*h
		f(k1, y, tt)
		for j := range tmp {
			tmp[j] = y[j] + h/2*k1[j]
		}
		f(k2, tmp, tt+h/2)
		for j := range tmp {
			tmp[j] = y[j] + h/2*k2[j]
		}
		f(k3, tmp, tt+h/2)
		for j := range tmp {
			tmp[j] = y[j] + h*k3[j]
		}
		f(k4, tmp, tt+h)
		for j := range y {
			y[j] += h / 6 * (k1[j] + 2*k2[j] + 2*k3[j] + k4[j])
		}
	}
	for i := range y {
		if math.Abs(y[i]-want[i]) > 1e-8 {
			t.Errorf("value %d: RK4 %v, FlowTo %v", i, y[i], want[i])
		}
	}
}

// The probability-flow ODE sampler with the fixed-step Euler and Heun
// tableaux: orders 1 and 2.
func TestOrderODETableaux(t *testing.T) {
	checkOrder(t, sde.NewVP(), "ode", map[string]string{"solver": "euler"}, 1)
	checkOrder(t, sde.NewVP(), "ode", map[string]string{"solver": "heun"}, 2)
}

// The fixed-step tableaux keep their order on every schedule.
func TestOrderODESchedules(t *testing.T) {
	for _, sc := range []string{"logsnr", "karras", "quadratic"} {
		checkOrder(t, sde.NewVP(), "ode", map[string]string{"solver": "heun", "schedule": sc}, 2)
	}
}
