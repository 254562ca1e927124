package ode

import (
	"context"
	"testing"
)

// go test -run '^$' -bench . -benchtime 2s ./ode/

func decay(dst, t, y []float64, rows []int) {
	for i, v := range y {
		dst[i] = -v
	}
}

// One adaptive Dormand-Prince step (7 stage evaluations, error estimate,
// step-size control) on one row of 3072 values with dy/dt = -y: the
// stepper's own cost per step.
func BenchmarkDormandPrinceStep3072(b *testing.B) {
	const d = 3072
	y0 := make([]float64, d)
	for i := range y0 {
		y0[i] = float64(i%17) - 8
	}
	s, err := NewSolver(d, Options{RTol: 1e-6, ATol: 1e-6, Dt0: 0.01})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(8 * d)
	b.ReportAllocs()
	for b.Loop() {
		res, _ := s.Solve(ctx, decay, 0, 0.01, y0)
		if res.Total.Accepted != 1 || res.Total.Steps != 1 {
			b.Fatalf("stats %+v", res.Total)
		}
	}
}

func spread(n int, hard float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 + float64(i%10)
	}
	if hard > 0 {
		w[n/2] = hard
	}
	return w
}

// 10^4 rows of a 2-D oscillator (frequencies 1..10), Dormand-Prince at
// rtol = atol = 1e-6 over [0, 10], per-row control.
func BenchmarkRows2D(b *testing.B) {
	const n = 10000
	f := oscillators(spread(n, 0))
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "serial", 2: "workers=2"}[workers], func(b *testing.B) {
			s, err := NewSolver(2, Options{RTol: 1e-6, ATol: 1e-6, Workers: workers})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			y0 := ones(n)
			var res Result
			b.ReportAllocs()
			for b.Loop() {
				res, _ = s.Solve(ctx, f, 0, 10, y0)
			}
			b.ReportMetric(float64(res.Total.NFE)/n, "nfe/row")
		})
	}
}

// 1000 rows (frequencies 1..10) and one hard row (frequency 100): per-row
// control versus the joint (flattened, scipy-RK45-like) solve.
func BenchmarkPerRowVsJoint(b *testing.B) {
	const n = 1000
	f := oscillators(spread(n, 100))
	for _, joint := range []bool{false, true} {
		b.Run(map[bool]string{false: "per-row", true: "joint"}[joint], func(b *testing.B) {
			s, err := NewSolver(2, Options{RTol: 1e-6, ATol: 1e-6, Joint: joint})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			y0 := ones(n)
			var res Result
			for b.Loop() {
				res, _ = s.Solve(ctx, f, 0, 10, y0)
			}
			b.ReportMetric(float64(res.Total.NFE)/n, "nfe/row")
		})
	}
}
