package sample

import (
	"fmt"
	"math"
	"sync"

	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/sde"
)

// Inpaint returns a Clamp (EulerMaruyama.Clamp, PC.Clamp) that fills in missing coordinates the way the
// score SDE code does: after every step, the known coordinates of every row
// are replaced by the forward-noised data c(t) x0_j + s(t) z (Song et al. 2021,
// appendix I.2), so the unknown ones are sampled alongside them. known marks
// the observed coordinates and x0 holds their values (one row, shared by all
// rows of the run). The noise z of row i at time t comes from its own stream,
// keyed by (seed, t, i), so a row does not depend on its batch. This is the
// reference's heuristic, not exact conditional sampling; score.Guided with an
// exact r_t is the exact alternative where r_t is known.
func Inpaint(s sde.SDE, known []bool, x0 []float64, seed uint64) (func(x []float64, t float64, rows []int), error) {
	d := len(known)
	if len(x0) != d {
		return nil, fmt.Errorf("sample: Inpaint: %d known flags but %d data values; give one of each per coordinate", d, len(x0))
	}
	for j, v := range x0 {
		if known[j] && (math.IsNaN(v) || math.IsInf(v, 0)) {
			return nil, fmt.Errorf("sample: Inpaint: known coordinate %d is %v", j, v)
		}
	}
	var pool sync.Pool
	return func(x []float64, t float64, rows []int) {
		if len(x) != len(rows)*d {
			panic(fmt.Sprintf("sample: Inpaint: %d values for %d rows of %d", len(x), len(rows), d))
		}
		c, sd := s.Marginal(t)
		st, _ := pool.Get().(*rng.Stream)
		if st == nil {
			st = rng.NewStream(0, 0, rng.Data)
		}
		tseed := seed ^ math.Float64bits(t)
		for k, row := range rows {
			st.Reset(tseed, row, rng.Data)
			xr := x[k*d : (k+1)*d]
			for j, kn := range known {
				if kn {
					xr[j] = c*x0[j] + sd*st.R.NormFloat64()
				}
			}
		}
		pool.Put(st)
	}, nil
}
