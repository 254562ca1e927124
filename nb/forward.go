package nb

import (
	"fmt"
	"image"
	"math"
	"strings"

	"gonum.org/v1/plot"

	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/viz"
)

// Schedules draws, for VP, sub-VP and VE with the reference defaults, the mean
// scale c(t), the standard deviation s(t) of x_t given x_0, and g(t)^2 over
// t in [0, 1]: three panels on a 1050 x 330 image.
func Schedules() image.Image {
	const n = 201
	t := make([]float64, n)
	for i := range t {
		t[i] = float64(i) / (n - 1)
	}
	pc := viz.NewPanel("mean scale c(t)", "t", "")
	ps := viz.NewPanel("std s(t) of x_t | x_0", "t", "")
	pg := viz.NewPanel("g(t)^2", "t", "")
	viz.LogY(ps)
	viz.LogY(pg)
	for k, name := range SDENames {
		s := mustSDE(name)
		c, sd, g2 := make([]float64, n), make([]float64, n), make([]float64, n)
		for i, ti := range t {
			c[i], sd[i] = s.Marginal(ti)
			g := s.Diffusion(ti)
			g2[i] = g * g
		}
		viz.AddLine(pc, label(name), t, c, k, k == 1)
		viz.AddLine(ps, label(name), t, sd, k, k == 1)
		viz.AddLine(pg, label(name), t, g2, k, k == 1)
	}
	pc.Legend.Left = true
	ps.Legend.Top, ps.Legend.Left = true, true
	pg.Legend.Top, pg.Legend.Left = true, true
	return viz.Render([][]*plot.Plot{{pc, ps, pg}}, 1050, 330)
}

// MarginalTable returns c(t) and s(t) of VP, sub-VP and VE at the given times
// as a text table.
func MarginalTable(times []float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6s  %10s %10s  %10s %10s  %10s %10s\n", "t", "VP c", "VP s", "subVP c", "subVP s", "VE c", "VE s")
	for _, t := range times {
		fmt.Fprintf(&b, "%6.3g", t)
		for _, name := range SDENames {
			c, s := mustSDE(name).Marginal(t)
			fmt.Fprintf(&b, "  %10.4g %10.4g", c, s)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// ForwardStat compares the mean of |x_t|^2 over gmm8 particles pushed through
// a forward SDE by Euler-Maruyama with its closed form given the particles'
// starting points, the mean of c(t)^2 |x_0|^2 + D s(t)^2.
type ForwardStat struct {
	T         float64
	C, S      float64 // c(t), s(t)
	M2Sim     float64 // Monte Carlo mean of |x_t|^2 over the simulated particles
	M2SimSE   float64 // standard error of M2Sim - M2Exact (the noise only)
	M2Exact   float64 // mean of c^2 |x_0|^2 + D s^2 over the particles
	Z         float64 // (M2Sim - M2Exact)/M2SimSE
	RelErrPct float64 // 100 (M2Sim - M2Exact)/M2Exact
}

// ForwardResult is what Forward returns: the statistics per time and a picture.
type ForwardResult struct {
	SDE   string
	N     int // particles
	Steps int // Euler-Maruyama steps on [0, 1]
	Stats []ForwardStat
	// Image has two rows of panels, one per time: the exact density p_t
	// (log scale) on top, the simulated particles below.
	Image image.Image
}

// String prints the table of ForwardStat.
func (r *ForwardResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, gmm8, %d particles, %d Euler-Maruyama steps on [0, 1]\n", label(r.SDE), r.N, r.Steps)
	fmt.Fprintf(&b, "%6s %9s %9s %12s %12s %9s %7s\n", "t", "c(t)", "s(t)", "mean |x_t|^2", "closed form", "rel err %", "z")
	for _, s := range r.Stats {
		fmt.Fprintf(&b, "%6.3g %9.4g %9.4g %12.5g %12.5g %9.3f %7.2f\n", s.T, s.C, s.S, s.M2Sim, s.M2Exact, s.RelErrPct, s.Z)
	}
	return b.String()
}

// MaxAbsZ returns the largest |z| over the times.
func (r *ForwardResult) MaxAbsZ() float64 {
	var z float64
	for _, s := range r.Stats {
		z = math.Max(z, math.Abs(s.Z))
	}
	return z
}

// Forward draws n points from gmm8 (seeded), runs them forward through the
// SDE named sdeName ("vp", "subvp", "ve") with steps Euler-Maruyama steps on
// [0, 1], and at each of the times (in (0, 1], increasing) compares the
// simulated mean of |x_t|^2 with its closed form. The picture shows the exact
// density p_t and the particles at each time; a panel is 220 x 220 pixels.
func Forward(sdeName string, times []float64, n, steps int, seed uint64) *ForwardResult {
	check(n >= 2 && steps >= 1 && len(times) > 0, "Forward needs n >= 2, steps >= 1 and at least one time")
	for i, t := range times {
		check(t > 0 && t <= 1 && (i == 0 || t > times[i-1]), "Forward: times must increase within (0, 1], got %v", times)
	}
	s := mustSDE(sdeName)
	m := mustProblem("gmm8", s)
	const d = 2
	x := drawData(m, n, seed)
	x0sq := make([]float64, n) // |x_0|^2 of each particle
	for i := range x0sq {
		x0sq[i] = x[2*i]*x[2*i] + x[2*i+1]*x[2*i+1]
	}

	res := &ForwardResult{SDE: sdeName, N: n, Steps: steps}
	snaps := make([][]float64, len(times))
	// Each particle has its own noise stream, so the result does not depend on n.
	rs := make([]*rng.Stream, n)
	for i := range rs {
		rs[i] = rng.NewStream(seed, i, rng.Sampling)
	}
	dt := 1 / float64(steps)
	sq := math.Sqrt(dt)
	next := 0
	for k := 0; k < steps && next < len(times); k++ {
		t := float64(k) * dt
		a, g := s.DriftCoef(t), s.Diffusion(t)
		for i := 0; i < n; i++ {
			r := rs[i].R
			for j := i * d; j < (i+1)*d; j++ {
				x[j] += a*x[j]*dt + g*sq*r.NormFloat64()
			}
		}
		tn := float64(k+1) * dt
		for next < len(times) && tn >= times[next]-1e-12 {
			snaps[next] = append([]float64(nil), x...)
			next++
		}
	}
	for next < len(times) { // times beyond the last grid point (rounding)
		snaps[next] = append([]float64(nil), x...)
		next++
	}

	top := make([]*plot.Plot, len(times))
	bottom := make([]*plot.Plot, len(times))
	for k, t := range times {
		c, sd := s.Marginal(t)
		// Compare with E[|x_t|^2 | x_0] = c^2 |x_0|^2 + D s^2 particle by
		// particle, so that the spread of the drawn x_0 does not enter.
		r2 := make([]float64, n)
		resid := make([]float64, n)
		for i := 0; i < n; i++ {
			r2[i] = snaps[k][2*i]*snaps[k][2*i] + snaps[k][2*i+1]*snaps[k][2*i+1]
			resid[i] = r2[i] - (c*c*x0sq[i] + d*sd*sd)
		}
		mean, _ := meanSE(r2)
		dm, se := meanSE(resid)
		exact := mean - dm
		res.Stats = append(res.Stats, ForwardStat{T: t, C: c, S: sd, M2Sim: mean, M2SimSE: se, M2Exact: exact,
			Z: dm / se, RelErrPct: 100 * dm / exact})

		l := 4.5*c + 3*sd
		g := viz.NewGrid(90, l, func(u, v float64) float64 { return m.LogProb([]float64{u, v}, t) })
		hi := math.Inf(-1)
		for _, z := range g.Values {
			hi = math.Max(hi, z)
		}
		pt := viz.NewPanel(fmt.Sprintf("%s p_t, t = %s", label(sdeName), fmtG(t)), "", "")
		viz.AddHeat(pt, g, hi-10, hi)
		viz.Square(pt, l)
		pb := viz.NewPanel(fmt.Sprintf("particles, t = %s", fmtG(t)), "", "")
		viz.AddCloud(pb, snaps[k], d, 0)
		viz.Square(pb, l)
		top[k], bottom[k] = pt, pb
	}
	res.Image = viz.Render([][]*plot.Plot{top, bottom}, 220*len(times), 440)
	return res
}
