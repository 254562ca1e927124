package model

import (
	"math"
	"testing"
)

// TestForwardVJPAndTrace checks the fused passes against the separate ones:
// ForwardVJP must give Forward's and InputVJP's values bit for bit (the same
// arithmetic in the same order), and ForwardTrace the sum over j of element
// j of InputVJP(e_j), also bit for bit (accumulated in float64 in the order
// j = 0..D-1 in both). InputVJP itself is checked against finite
// differences in TestInputVJPFD, so these inherit that oracle.
func TestForwardVJPAndTrace(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		for _, cfg := range append(smallConfigs(prec), anchorConfig(16, prec)) {
			t.Run(cfgName(cfg), func(t *testing.T) {
				net := mustNet(t, cfg)
				const n = 7
				d := cfg.Dim
				x, tt, v := batch(21, n, d)
				wantOut, wantVJP := make([]float64, n*d), make([]float64, n*d)
				net.Forward(wantOut, x, tt)
				net.InputVJP(wantVJP, v, x, tt)
				wantTr := make([]float64, n)
				e, col := make([]float64, n*d), make([]float64, n*d)
				for j := 0; j < d; j++ {
					clear(e)
					for i := 0; i < n; i++ {
						e[i*d+j] = 1
					}
					net.InputVJP(col, e, x, tt)
					for i := 0; i < n; i++ {
						wantTr[i] += col[i*d+j]
					}
				}
				out, vjp, tr := make([]float64, n*d), make([]float64, n*d), make([]float64, n)
				net.(ForwardVJPer).ForwardVJP(out, vjp, v, x, tt)
				same(t, "ForwardVJP out", out, wantOut)
				same(t, "ForwardVJP vjp", vjp, wantVJP)
				clear(out)
				net.(ForwardTracer).ForwardTrace(out, tr, x, tt)
				same(t, "ForwardTrace out", out, wantOut)
				same(t, "ForwardTrace tr", tr, wantTr)
			})
		}
	}
}

func same(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			return
		}
	}
}

// TestInputVJPFollowsParams checks that the transposed weights the input VJP
// keeps are rebuilt after the parameters change, through SyncParams (both
// precisions) or a write through Params (float64, whose Params are the
// weights): the VJP must equal, bit for bit, that of a network built afresh
// from the new parameters.
func TestInputVJPFollowsParams(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		for _, sync := range []bool{true, false} {
			if !sync && prec == Float32 {
				continue // MLP32's weights change only through SyncParams
			}
			cfg := anchorConfig(16, prec)
			net := mustNet(t, cfg)
			const n = 5
			x, tt, v := batch(3, n, 2)
			got := make([]float64, n*2)
			var p []float64
			if sync {
				p = net.Params() // taken first: only SyncParams tells the network of the new values
			}
			net.InputVJP(got, v, x, tt) // builds the transposed weights
			if !sync {
				p = net.Params() // taken after: Params itself marks them stale
			}
			for i := range p {
				p[i] *= 1.25
			}
			if sync {
				net.SyncParams()
			}
			net.InputVJP(got, v, x, tt)
			fresh, err := mlpWith(cfg.WithDefaults(), p, net.Buffers())
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, n*2)
			fresh.InputVJP(want, v, x, tt)
			same(t, prec+" VJP after new params", got, want)
		}
	}
}
