package sample

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// dpm-adaptive on gauss:4 against the exact flow map of each row's prior
// draw (score.Mixture.FlowTo): each tenfold tighter tolerance gives a
// smaller true error and more evaluations, for DPM-Solver-12 and -23, in
// both forms, on vp and edm. The bounds are not fitted to the code:
//   - the error falls by at least 2 per decade of tolerance. A working
//     controller makes it fall about in proportion (4.6-26 per decade
//     measured); one that ignored the tolerance would not fall at all.
//   - the RMS error is at most the number of accepted steps times the
//     largest local tolerance, max(atol, rtol |x|) <= 4 tol (|x| < 4 on
//     gauss:4 at 5 standard deviations): the global error of a contractive
//     flow is at most the sum of the local errors, and each accepted local
//     error of x_low is below its tolerance (x_high, which the row keeps,
//     is the better one).
//
// The statistics are filled per row: Steps = Accepted + Rejected, and
// NFE = k Accepted + (k-1) Rejected (k evaluations an attempt, one fewer
// after a rejection, which reuses the prediction at s).
func TestDPMAdaptiveTolerance(t *testing.T) {
	const rows = 64
	for _, tc := range []struct {
		s    sde.SDE
		pred string
	}{
		{sde.NewVP(), PredictionNoise}, {sde.NewVP(), PredictionData},
		{sde.NewEDM(), PredictionNoise}, {sde.NewEDM(), PredictionData},
	} {
		m := score.Gauss(tc.s, 4)
		for _, k := range []int{2, 3} {
			prevErr, prevNFE := math.Inf(1), 0.0
			for _, tol := range []float64{1e-2, 1e-3, 1e-4, 1e-5} {
				smp := &DPMAdaptive{Order: k, RTol: tol, ATol: tol, Prediction: tc.pred}
				eps, _ := sde.DefaultEps(tc.s)
				c := Config{SDE: tc.s, Score: m, Sampler: smp, Eps: eps, Workers: 1}
				times, states, err := Trajectory(context.Background(), c, 5, seq(rows), 5)
				if err != nil {
					t.Fatal(err)
				}
				if len(times) != 2 || times[0] != tc.s.T() || times[1] != c.Eps {
					t.Fatalf("%s: recorded times %v, want the prior's and the sample's", smp.Describe(), times)
				}
				x := make([]float64, rows*4)
				st, err := Generate(context.Background(), c, 5, seq(rows), x, nil)
				if err != nil {
					t.Fatal(err)
				}
				exact := make([]float64, len(x))
				if err := m.FlowTo(exact, states[0], times[0], times[1]); err != nil {
					t.Fatal(err)
				}
				var ss, nfe, acc float64
				for i := range x {
					if x[i] != states[1][i] {
						t.Fatalf("%s: Trajectory's last state differs from Generate's sample", smp.Describe())
					}
					ss += (x[i] - exact[i]) * (x[i] - exact[i])
				}
				for r := 0; r < rows; r++ {
					a, rj := st.Accepted[r], st.Rejected[r]
					if a < 1 || st.Steps[r] != a+rj || st.NFE[r] != k*a+(k-1)*rj {
						t.Fatalf("%s: row %d: steps %d, accepted %d, rejected %d, NFE %d", smp.Describe(), r, st.Steps[r], a, rj, st.NFE[r])
					}
					nfe += float64(st.NFE[r])
					acc += float64(a)
				}
				e, nfe, acc := math.Sqrt(ss/float64(len(x))), nfe/rows, acc/rows
				t.Logf("%s %s: error %.3g, %.1f evaluations, %.1f accepted steps", tc.s.Name(), smp.Describe(), e, nfe, acc)
				if !(e < prevErr/2) || !(nfe > prevNFE) {
					t.Errorf("%s %s: error %.3g and %.1f evaluations; at 10 times the tolerance %.3g and %.1f", tc.s.Name(), smp.Describe(), e, nfe, prevErr, prevNFE)
				}
				if e > acc*4*tol {
					t.Errorf("%s %s: error %.3g above %.0f accepted steps times 4 tol", tc.s.Name(), smp.Describe(), e, acc)
				}
				prevErr, prevNFE = e, nfe
			}
		}
	}
}

// Every evaluation is counted (the score sees as many rows as Stats.NFE
// sums to), on every SDE, with rows of a block that finish at different
// steps; the defaults are DPM-Solver-23 at rtol = atol = 1e-3 in the noise
// form.
func TestDPMAdaptiveNFEIsTruthful(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE(), sde.NewEDM()} {
		for _, k := range []int{2, 3} {
			g := newGauss(s, 3)
			smp := &DPMAdaptive{Order: k}
			c := Config{SDE: s, Score: g, Sampler: smp, Workers: 2, Block: 5}
			_, st := gen(t, &c, 9, 23)
			total, lo, hi := 0, math.MaxInt, 0
			for _, v := range st.NFE {
				total += v
				lo, hi = min(lo, v), max(hi, v)
			}
			if int64(total) != g.rows.Load() {
				t.Errorf("%s %s: Stats.NFE sums to %d, the score saw %d rows", s.Name(), smp.Describe(), total, g.rows.Load())
			}
			t.Logf("%s %s: %d to %d evaluations per row", s.Name(), smp.Describe(), lo, hi)
		}
	}
	d := &DPMAdaptive{}
	vp := sde.NewVP()
	c := Config{SDE: vp, Score: newGauss(vp, 2), Sampler: d}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := d.Describe(); got != "DPM-Solver-23, rtol 0.001 atol 0.001, data prediction" {
		t.Errorf("defaults: %q", got)
	}
}

// A row that needs more step attempts than MaxSteps (-steps) stops with an
// error that wraps ode.ErrMaxSteps and names the row.
func TestDPMAdaptiveMaxSteps(t *testing.T) {
	vp := sde.NewVP()
	smp, err := NewFromOptions("dpm-adaptive", map[string]string{"max-steps": "4", "rtol": "1e-6", "atol": "1e-6"})
	if err != nil {
		t.Fatal(err)
	}
	c := Config{SDE: vp, Score: newGauss(vp, 2), Sampler: smp, Workers: 1}
	_, err = Generate(context.Background(), c, 1, []int{7}, make([]float64, 2), nil)
	if !errors.Is(err, ode.ErrMaxSteps) || err == nil || !strings.Contains(err.Error(), "row 7") {
		t.Errorf("error %v, want one naming row 7 that wraps ode.ErrMaxSteps", err)
	}
}

func ExampleDPMAdaptive() {
	vp := sde.NewVP()
	m := score.Gauss(vp, 2)
	c := Config{SDE: vp, Score: m, Sampler: &DPMAdaptive{Order: 2, RTol: 1e-4, ATol: 1e-4}, Workers: 1}
	x := make([]float64, 2)
	st, err := Generate(context.Background(), c, 1, []int{0}, x, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Sampler.(Describer).Describe())
	fmt.Println("steps = accepted + rejected:", st.Steps[0] == st.Accepted[0]+st.Rejected[0])
	// Output:
	// DPM-Solver-12, rtol 0.0001 atol 0.0001, data prediction
	// steps = accepted + rejected: true
}
