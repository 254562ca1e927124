package sd15

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sdekit/sdekit/discretize"
)

func envInt(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return d
}

func envF(k string, d float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil {
		return v
	}
	return d
}

// TestHeartbeatSweep is the harness behind the heartbeat tries in docs/bench.md, not
// a check: it runs only when SW names the run. It trains a heartbeat model
// through Train (or, with SW_DISTILL, against the oracle's rates, a
// diagnostic of how well the network can fit the exact kernel) and prints
// the gap K* - K by quarter of t, from SW_N sequences, as K* - gap. Knobs:
// SW_T (2000), SW_STEPS (10000), SW_BATCH (64), SW_LR (3e-3), SW_LRF
// (LR/10), SW_BASIS (20; 0 a readout per step), SW_SEG (1), SW_STEPRO,
// SW_OFF (rate correction instead of x0 prediction), SW_SEED (1); with
// SW_CHUNKS (1) training runs, each from the full learning rate, printing
// after each; with SW_TFIX (and SW_TW) training draws t from SW_TFIX..SW_TFIX+SW_TW-1 and
// the gap at SW_TFIX is printed. For example
//
//	SW=lr1e-2 SW_STEPS=100000 SW_LR=1e-2 SW_LRF=1e-4 go test -run TestHeartbeatSweep -v ./sd15
func TestHeartbeatSweep(t *testing.T) {
	if os.Getenv("SW") == "" {
		t.Skip("set SW to a run name to run the sweep harness")
	}
	h := NewHeartbeat()
	T := envInt("SW_T", 2000)
	c := discretize.Binomial{T: T, P: h.OnesRate()}
	r := rand.New(rand.NewPCG(uint64(envInt("SW_SEED", 1)), 9))
	basis := envInt("SW_BASIS", 20)
	m, err := NewBinaryModelSegments(c, h.Length, basis, envInt("SW_SEG", 1), r)
	if err != nil {
		t.Fatal(err)
	}
	m.X0 = os.Getenv("SW_OFF") == ""
	if os.Getenv("SW_STEPRO") != "" {
		for _, n := range m.nets() {
			n.AddStepReadouts()
		}
	}
	data := heartbeatData(h)
	o, _ := NewHeartbeatOracle(h, c)
	ks := o.Bound().K
	opt := TrainOptions{Steps: envInt("SW_STEPS", 10000), Batch: envInt("SW_BATCH", 64), LR: envF("SW_LR", 3e-3), LRFinal: envF("SW_LRF", 0)}
	chunks := envInt("SW_CHUNKS", 1)
	total := opt.Steps
	opt.Steps = total / chunks
	start := time.Now()
	for ch := 0; ch < chunks; ch++ {
		if os.Getenv("SW_DISTILL") != "" {
			if len(m.Segments) > 1 {
				t.Fatal("SW_DISTILL trains one network; drop SW_SEG")
			}
			d := h.Length
			x0, xt, in, dOut, ps := make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d), make([]float64, d)
			err := train(context.Background(), m.Net, opt, 1, func(w *Work, g *Grad) float64 {
				data(x0, r)
				tt := 2 + r.IntN(T-1)
				if tf := envInt("SW_TFIX", 0); tf > 0 {
					tt = tf + r.IntN(envInt("SW_TW", 1))
				}
				for i := range xt {
					xt[i] = draw(r, c.Marginal(x0[i], tt))
				}
				o.RatesTo(ps, xt, tt)
				input(in, xt)
				out := m.Net.Forward(w, in, tt)
				var loss float64
				for i, oo := range out {
					var p float64
					p, dOut[i] = m.rate(xt[i], oo, tt, ps[i])
					loss += discretize.BernoulliKL(ps[i], clampRate(p))
				}
				m.Net.Backward(w, g, dOut, tt)
				return loss
			})
			if err != nil {
				t.Fatal(err)
			}
		} else if err := m.Train(context.Background(), data, opt, r); err != nil {
			t.Fatal(err)
		}
		// gap by quarter
		n := envInt("SW_N", 20)
		var q [4]float64
		w := m.Net.NewWork()
		x0 := make([]float64, h.Length)
		rates := m.rates(w)
		xt, p, ps := make([]float64, h.Length), make([]float64, h.Length), make([]float64, h.Length)
		for i := 0; i < n; i++ {
			data(x0, r)
			for tt := 2; tt <= T; tt++ {
				for j := range xt {
					xt[j] = draw(r, c.Marginal(x0[j], tt))
				}
				rates(p, xt, tt)
				o.RatesTo(ps, xt, tt)
				for j := range xt {
					q[4*(tt-2)/(T-1)] += discretize.BernoulliKL(ps[j], clampRate(p[j])) / float64(n)
				}
			}
		}
		g := q[0] + q[1] + q[2] + q[3]
		if tf := envInt("SW_TFIX", 0); tf > 0 {
			var g float64
			for i := 0; i < 2000; i++ {
				data(x0, r)
				for j := range xt {
					xt[j] = draw(r, c.Marginal(x0[j], tf))
				}
				rates(p, xt, tf)
				o.RatesTo(ps, xt, tf)
				for j := range xt {
					g += discretize.BernoulliKL(ps[j], clampRate(p[j])) / 2000
				}
			}
			fmt.Printf("%s: gap at t = %d: %.3g bits (oracle step KL %.3g)\n", os.Getenv("SW"), tf, g, o.Bound().StepKL[tf-2])
		}
		fmt.Printf("%s chunk %d (%d steps, %v): gap %.4f quarters %.4f %.4f %.4f %.4f  K=%.4f\n", os.Getenv("SW"), ch, (ch+1)*opt.Steps, time.Since(start).Round(time.Second), g, q[0], q[1], q[2], q[3], ks-g)
	}
}
