package nb

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// SDENames are the built-in forward SDEs the overview pictures show; every
// function here accepts any kind registered with sde.Register by name.
var SDENames = []string{"vp", "subvp", "ve"}

// mustSDE returns the SDE of the name with the reference defaults, or panics.
func mustSDE(name string) sde.SDE {
	s, err := sde.ByName(name)
	if err != nil {
		panic(fmt.Sprintf("nb: %v", err))
	}
	return s
}

// label is the display name of an SDE.
func label(name string) string {
	switch name {
	case "vp":
		return "VP"
	case "subvp", "sub-vp":
		return "sub-VP"
	case "ve":
		return "VE"
	}
	return name
}

// mustProblem returns the exact problem ("gmm8", "gauss:D") under s, or panics.
func mustProblem(name string, s sde.SDE) *score.Mixture {
	m, err := score.Problem(name, s)
	if err != nil {
		panic(fmt.Sprintf("nb: %v", err))
	}
	return m
}

// drawData draws n rows from p_0 of m; row i comes from rng.New(seed, i, rng.Data).
func drawData(m *score.Mixture, n int, seed uint64) []float64 {
	d := m.Dim()
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		m.SampleData(x[i*d:(i+1)*d], rng.New(seed, i, rng.Data))
	}
	return x
}

// check panics with a message when cond is false.
func check(cond bool, format string, args ...any) {
	if !cond {
		panic(fmt.Sprintf("nb: "+format, args...))
	}
}

// meanSE returns the mean and its standard error.
func meanSE(v []float64) (mean, se float64) {
	n := float64(len(v))
	for _, x := range v {
		mean += x
	}
	mean /= n
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	if len(v) > 1 {
		se = math.Sqrt(ss / (n - 1) / n)
	}
	return mean, se
}

// finiteAll reports whether every value is finite.
func finiteAll(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// newRand returns a generator for fixed internal choices (not for samples).
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6e62)) }
