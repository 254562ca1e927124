package sample

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Each schedule against its defining formula, computed here independently,
// for every built-in SDE: uniform in t, uniform in lambda, Karras' sigma
// grid (eq. 5 of Karras et al. 2022; for EDM, where t = sigma, the times are
// the paper's sigmas themselves), uniform in sqrt(t). Tolerance 1e-9
// relative: the logsnr and karras times go through lambda and back, which
// loses a few ulps times the conditioning of lambda near eps.
func TestScheduleTimes(t *testing.T) {
	const n = 12
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE(), sde.NewEDM()} {
		eps, _ := sde.DefaultEps(s)
		T := s.T()
		for _, name := range Schedules {
			ts, err := ScheduleTimes(s, name, 7, eps, n)
			if err != nil {
				t.Fatalf("%s %s: %v", s.Name(), name, err)
			}
			if len(ts) != n+1 || ts[0] != T || ts[n] != eps {
				t.Fatalf("%s %s: %d times from %v to %v", s.Name(), name, len(ts), ts[0], ts[len(ts)-1])
			}
			for i := 1; i < n; i++ {
				f := float64(i) / n
				var want float64
				switch name {
				case ScheduleT:
					want = T + f*(eps-T)
				case ScheduleQuadratic:
					want = math.Pow(math.Sqrt(T)+f*(math.Sqrt(eps)-math.Sqrt(T)), 2)
				case ScheduleLogSNR:
					// lambda(ts[i]) is the linear interpolation.
					la, lb := sde.LogSNR(s, T), sde.LogSNR(s, eps)
					got := sde.LogSNR(s, ts[i])
					if w := la + f*(lb-la); math.Abs(got-w) > 1e-9*(1+math.Abs(w)) {
						t.Errorf("%s logsnr step %d: lambda %v, want %v", s.Name(), i, got, w)
					}
					continue
				case ScheduleKarras:
					smax, smin := sde.Sigma(s, T), sde.Sigma(s, eps)
					w := math.Pow(math.Pow(smax, 1.0/7)+f*(math.Pow(smin, 1.0/7)-math.Pow(smax, 1.0/7)), 7)
					if got := sde.Sigma(s, ts[i]); math.Abs(got-w) > 1e-9*w {
						t.Errorf("%s karras step %d: sigma %v, want %v", s.Name(), i, got, w)
					}
					if _, ok := s.(*sde.EDM); ok && math.Abs(ts[i]-w) > 1e-12*w {
						t.Errorf("edm karras step %d: t %v is not the paper's sigma %v", i, ts[i], w)
					}
					continue
				}
				if math.Abs(ts[i]-want) > 1e-12*T {
					t.Errorf("%s %s step %d: %v, want %v", s.Name(), name, i, ts[i], want)
				}
			}
		}
	}
}

func TestScheduleErrors(t *testing.T) {
	vp := sde.NewVP()
	for _, c := range []struct {
		name string
		rho  float64
		eps  float64
		n    int
	}{
		{"cosine", 7, 1e-3, 10}, {ScheduleKarras, 0, 1e-3, 10}, {ScheduleKarras, -1, 1e-3, 10},
		{ScheduleT, 7, 1e-3, 0}, {ScheduleT, 7, 0, 10}, {ScheduleT, 7, 1, 10},
	} {
		if _, err := ScheduleTimes(vp, c.name, c.rho, c.eps, c.n); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// EM and PC step on the chosen grid: their path is the schedule's times
// (bit for bit: the same function), and reference-dt, whose loop is
// uniform, refuses any other schedule.
func TestPCSchedule(t *testing.T) {
	vp := sde.NewVP()
	for _, name := range Schedules {
		for _, smp := range []Sampler{&EulerMaruyama{Steps: 9, Grid: Grid{Schedule: name}}, &PC{Steps: 9, Grid: Grid{Schedule: name, Rho: 3}}} {
			c := Config{SDE: vp, Score: score.Gauss(vp, 2), Sampler: smp}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			pl, err := smp.Prepare(&c)
			if err != nil {
				t.Fatal(err)
			}
			rho := 7.0
			if p, ok := smp.(*PC); ok {
				rho = p.Rho
			}
			want, _ := ScheduleTimes(vp, name, rho, c.Eps, 9)
			if got := pl.Path(); !slices.Equal(got, want) {
				t.Errorf("%s %s: path %v, want %v", smp.Name(), name, got, want)
			}
		}
	}
	c := Config{SDE: vp, Score: score.Gauss(vp, 2), Sampler: &EulerMaruyama{Steps: 9, ReferenceDt: true, Grid: Grid{Schedule: ScheduleKarras}}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "uniform in t") {
		t.Errorf("reference-dt with karras: %v", err)
	}
}
