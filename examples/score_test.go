package examples_test

import (
	"context"
	"fmt"
	"math"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/sde"
)

// Gaussian1D is a score of one's own: the exact score of one-dimensional
// N(Mu, Sd^2) data under any SDE with affine drift, whose marginal at t is
// N(c(t) Mu, c(t)^2 Sd^2 + s(t)^2). Any type with Dim and ScoreTo is a
// score (sde.Score); it must be safe for concurrent calls.
type Gaussian1D struct {
	SDE    sde.SDE
	Mu, Sd float64
}

func (g Gaussian1D) Dim() int { return 1 }

func (g Gaussian1D) ScoreTo(dst, x, t []float64) {
	for i, ti := range t {
		c, s := g.SDE.Marginal(ti)
		dst[i] = -(x[i] - c*g.Mu) / (c*c*g.Sd*g.Sd + s*s)
	}
}

// A score of one's own with the built-in samplers: the sample mean and
// standard deviation of 20,000 draws against the data's 1.5 and 0.3 (the
// standard error of the mean is 0.3/sqrt(20000) = 0.002).
func Example_customScore() {
	for _, name := range []string{"em", "pc", "ode", "ddpm"} {
		s, _ := sample.New(name)
		vp := sde.NewVP()
		cfg := sample.Config{SDE: vp, Score: Gaussian1D{SDE: vp, Mu: 1.5, Sd: 0.3}, Sampler: s}
		rows := make([]int, 20000)
		for i := range rows {
			rows[i] = i
		}
		x := make([]float64, len(rows))
		if _, err := sample.Generate(context.Background(), cfg, 7, rows, x, nil); err != nil {
			fmt.Println(err)
			return
		}
		var m, v float64
		for _, xi := range x {
			m += xi / float64(len(x))
		}
		for _, xi := range x {
			v += (xi - m) * (xi - m) / float64(len(x)-1)
		}
		fmt.Printf("%s: mean %.2f, std %.2f\n", name, m, math.Sqrt(v))
	}
	// Output:
	// em: mean 1.50, std 0.30
	// pc: mean 1.50, std 0.30
	// ode: mean 1.50, std 0.30
	// ddpm: mean 1.50, std 0.30
}
