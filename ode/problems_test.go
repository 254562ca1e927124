package ode

import (
	"context"
	"math"
	"testing"
)

// Test problems with known solutions.

// keplerExact is the two-body orbit of eccentricity ecc (period 2 pi,
// periapsis at t = 0): solve Kepler's equation u - ecc sin u = t by Newton's
// method, then q = (cos u - ecc, sqrt(1-ecc^2) sin u) and p = dq/dt.
func keplerExact(ecc, t float64) []float64 {
	u := t
	if ecc > 0.8 {
		u = math.Pi // Newton from pi converges for every t when ecc is large
	}
	for range 100 {
		du := (u - ecc*math.Sin(u) - t) / (1 - ecc*math.Cos(u))
		u -= du
		if math.Abs(du) < 1e-15*max(1, math.Abs(u)) {
			break
		}
	}
	s := math.Sqrt(1 - ecc*ecc)
	den := 1 - ecc*math.Cos(u)
	return []float64{math.Cos(u) - ecc, s * math.Sin(u), -math.Sin(u) / den, s * math.Cos(u) / den}
}

// kepler is the two-body problem q” = -q/|q|^3 as a first-order system.
func kepler(dst, t, y []float64, rows []int) {
	for k := range t {
		q := y[4*k : 4*k+4]
		r := math.Hypot(q[0], q[1])
		r3 := r * r * r
		dst[4*k], dst[4*k+1], dst[4*k+2], dst[4*k+3] = q[2], q[3], -q[0]/r3, -q[1]/r3
	}
}

// warped is Kepler's problem (eccentricity 0.3) in the time phi(t) = t +
// 0.5 sin t: y(t) = kepler(phi(t)) solves y' = (1 + 0.5 cos t) F(y). It is
// non-autonomous and nonlinear, so it exercises the nodes c and the
// nonlinear order conditions.
func warped(dst, t, y []float64, rows []int) {
	kepler(dst, t, y, rows)
	for k := range t {
		s := 1 + 0.5*math.Cos(t[k])
		for i := range 4 {
			dst[4*k+i] *= s
		}
	}
}

func warpedExact(t float64) []float64 { return keplerExact(0.3, t+0.5*math.Sin(t)) }

// maxErr is the largest absolute difference.
func maxErr(a, b []float64) float64 {
	e := 0.0
	for i := range a {
		e = max(e, math.Abs(a[i]-b[i]))
	}
	return e
}

// slope is the least-squares slope of log(err) against log(h).
func slope(h, err []float64) float64 {
	var mx, my float64
	for i := range h {
		mx += math.Log(h[i])
		my += math.Log(err[i])
	}
	mx /= float64(len(h))
	my /= float64(len(h))
	var sxy, sxx float64
	for i := range h {
		dx := math.Log(h[i]) - mx
		sxy += dx * (math.Log(err[i]) - my)
		sxx += dx * dx
	}
	return sxy / sxx
}

func mustSolve(t *testing.T, f Func, dim int, t0, t1 float64, y0 []float64, opt Options) Result {
	t.Helper()
	res, err := Solve(context.Background(), f, dim, t0, t1, y0, opt)
	if err != nil {
		t.Fatalf("Solve: %v", err)
	}
	return res
}

// detest is one problem of the non-stiff DETEST set (Hull, Enright, Fellen
// and Sedgwick 1972), integrated over [0, 20].
type detest struct {
	name  string
	y0    []float64
	f     func(dst, y []float64, t float64)
	exact func(t float64) []float64 // nil: use a reference solution
}

var detestA = []detest{
	{"A1", []float64{1}, func(d, y []float64, t float64) { d[0] = -y[0] },
		func(t float64) []float64 { return []float64{math.Exp(-t)} }},
	{"A2", []float64{1}, func(d, y []float64, t float64) { d[0] = -y[0] * y[0] * y[0] / 2 },
		func(t float64) []float64 { return []float64{1 / math.Sqrt(1+t)} }},
	{"A3", []float64{1}, func(d, y []float64, t float64) { d[0] = y[0] * math.Cos(t) },
		func(t float64) []float64 { return []float64{math.Exp(math.Sin(t))} }},
	{"A4", []float64{1}, func(d, y []float64, t float64) { d[0] = y[0] / 4 * (1 - y[0]/20) },
		func(t float64) []float64 { return []float64{20 / (1 + 19*math.Exp(-t/4))} }},
	{"A5", []float64{4}, func(d, y []float64, t float64) { d[0] = (y[0] - t) / (y[0] + t) }, nil},
}

var detestB = []detest{
	{"B2", []float64{2, 0, 1}, func(d, y []float64, t float64) {
		d[0], d[1], d[2] = -y[0]+y[1], y[0]-2*y[1]+y[2], y[1]-y[2]
	}, func(t float64) []float64 {
		// Eigen-decomposition: eigenvalues 0, -1, -3 with eigenvectors
		// (1,1,1), (1,0,-1), (1,-2,1); y0 = v0 + v1/2 + v3/2.
		a, b := 0.5*math.Exp(-t), 0.5*math.Exp(-3*t)
		return []float64{1 + a + b, 1 - 2*b, 1 - a + b}
	}},
	{"B3", []float64{1, 0, 0}, func(d, y []float64, t float64) {
		d[0], d[1], d[2] = -y[0], y[0]-y[1]*y[1], y[1]*y[1]
	}, nil},
	{"B4", []float64{3, 0, 0}, func(d, y []float64, t float64) {
		r := math.Hypot(y[0], y[1])
		d[0], d[1], d[2] = -y[1]-y[0]*y[2]/r, y[0]-y[1]*y[2]/r, y[0]/r
	}, nil},
	{"B5", []float64{0, 1, 1}, func(d, y []float64, t float64) {
		d[0], d[1], d[2] = y[1]*y[2], -y[0]*y[2], -0.51*y[0]*y[1]
	}, nil},
}

var detestB1 = detest{"B1", []float64{1, 3}, func(d, y []float64, t float64) {
	d[0], d[1] = 2*(y[0]-y[0]*y[1]), -(y[1] - y[0]*y[1])
}, nil}

// detestD are the orbit problems D1-D5: Kepler with eccentricity 0.1, 0.3,
// 0.5, 0.7, 0.9, exact by Kepler's equation.
var detestD = func() []detest {
	var ps []detest
	for i, ecc := range []float64{0.1, 0.3, 0.5, 0.7, 0.9} {
		ecc := ecc
		ps = append(ps, detest{"D" + string(rune('1'+i)), keplerExact(ecc, 0), func(d, y []float64, t float64) {
			kepler(d, []float64{t}, y, nil)
		}, func(t float64) []float64 { return keplerExact(ecc, t) }})
	}
	return ps
}()

// batch turns problems of one dimension into a Func over rows: row i is
// problem i.
func batch(ps []detest) (Func, int, []float64) {
	dim := len(ps[0].y0)
	var y0 []float64
	for _, p := range ps {
		y0 = append(y0, p.y0...)
	}
	f := func(dst, t, y []float64, rows []int) {
		for k, r := range rows {
			ps[r].f(dst[k*dim:(k+1)*dim], y[k*dim:(k+1)*dim], t[k])
		}
	}
	return f, dim, y0
}
