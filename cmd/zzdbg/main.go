package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

func main() {
	ck, err := model.LoadCheckpoint(os.Args[1])
	if err != nil {
		panic(err)
	}
	s := sde.NewVP()
	n, err := score.NetFromCheckpoint(ck, s, "x")
	if err != nil {
		panic(err)
	}
	src, _ := data.ByName(os.Args[2])
	const b = 64
	d := src.Dim()
	x0 := make([]float64, b*d)
	src.Sample(x0, b, rand.New(rand.NewPCG(1, 2)))
	r := rand.New(rand.NewPCG(3, 4))
	for _, t := range []float64{0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1} {
		c, sd := s.Marginal(t)
		xt := make([]float64, b*d)
		z := make([]float64, b*d)
		for i := range xt {
			z[i] = r.NormFloat64()
			xt[i] = c*x0[i] + sd*z[i]
		}
		ts := make([]float64, b)
		for i := range ts {
			ts[i] = t
		}
		sc := make([]float64, b*d)
		n.ScoreTo(sc, xt, ts)
		var e, e0 float64
		for i := range sc {
			eps := -sc[i] * sd
			e += (eps - z[i]) * (eps - z[i])
			e0 += z[i] * z[i]
		}
		fmt.Printf("t %.3f c %.4f s %.4f: eps mse/dim %.4f (zero predictor %.4f)\n", t, c, sd, e/float64(b*d), e0/float64(b*d))
	}
	_ = math.Pi
}
