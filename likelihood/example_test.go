package likelihood_test

import (
	"context"
	"fmt"

	"github.com/sdekit/sdekit/likelihood"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Exact log-likelihoods of two points under the gmm8 problem and the VP SDE,
// with the exact trace, next to the oracle's log p_eps. The difference is the
// prior mismatch (the ODE maps p_T, not N(0, I), to p_eps) plus solver error.
func Example() {
	vp := sde.NewVP()
	m := score.GMM8(vp)
	x := []float64{
		4, 0, // at a mode
		0, 0, // between the modes
	}
	cfg := likelihood.Config{SDE: vp, Score: m, Probe: "exact"}
	pts, err := likelihood.Evaluate(context.Background(), cfg, 1, x, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, p := range pts {
		fmt.Printf("log p_eps = %.3f (oracle %.3f)\n", p.LogP, m.LogProb(x[2*i:2*i+2], likelihood.DefaultEps))
	}
	// Output:
	// log p_eps = -2.531 (oracle -2.531)
	// log p_eps = -32.451 (oracle -32.451)
}

// The bits/dim convention: a density uniform on [-1, 1]^D is 8 bits/dim for
// 8-bit data centred to [-1, 1] (offset 7).
func ExampleBitsPerDim() {
	spec := likelihood.DataSpec{Lo: -1, Hi: 1, Bits: 8, Dequant: "uniform", Repeats: 5}
	const d = 3072
	fmt.Println(spec.Offset(), likelihood.BitsPerDim(-d*0.6931471805599453, d, spec))
	fmt.Println(spec)
	// Output:
	// 7 8
	// 8-bit data on [-1, 1], uniform dequantisation within each bin of width (hi - lo)/2^bits, 5 repeat(s); bpd = -log p_eps(x)/(D ln 2) + 7 (offset = bits - log2(hi - lo))
}
