package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkRowEval reports the cost per row-evaluation (ns/row) of the
// anchor network (3 x 128, 32 Fourier features, D = 2) in the shape the
// probability-flow likelihood calls it: blocks of 64 rows, each row at its
// own time, one worker. "forward" is Forward (what sampling pays), "vjp" is
// InputVJP (what each extra Hutchinson probe or exact-trace column pays),
// "fused" is ForwardVJP (the score and one probe's product in one pass, what a
// likelihood evaluation with one probe pays), "trace" is ForwardTrace (the
// score and the exact trace, D = 2 backward passes). Issue 24 asks vjp and fused to
// cost at most twice forward.
//
//	go test -run '^$' -bench RowEval ./model
func BenchmarkRowEval(b *testing.B) {
	for _, prec := range []string{Float32, Float64} {
		for _, n := range []int{16, 64} {
			for _, op := range []string{"forward", "vjp", "fused", "trace"} {
				b.Run(fmt.Sprintf("%s/n=%d/%s", prec, n, op), func(b *testing.B) {
					net, err := New(anchorConfig(128, prec))
					if err != nil {
						b.Fatal(err)
					}
					rng := rand.New(rand.NewPCG(3, 4))
					d := net.Dim()
					x, v, t := make([]float64, n*d), make([]float64, n*d), make([]float64, n)
					out, jv := make([]float64, n*d), make([]float64, n*d)
					for i := range x {
						x[i] = rng.NormFloat64()
						v[i] = float64(2*rng.IntN(2) - 1)
					}
					for i := range t {
						t[i] = rng.Float64()
					}
					fv, _ := net.(ForwardVJPer)
					ft, _ := net.(ForwardTracer)
					run := func() {
						switch op {
						case "forward":
							net.Forward(out, x, t)
						case "vjp":
							net.InputVJP(jv, v, x, t)
						case "fused":
							fv.ForwardVJP(out, jv, v, x, t)
						case "trace":
							ft.ForwardTrace(out, jv[:n], x, t)
						}
					}
					run()
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						run()
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
				})
			}
		}
	}
}
