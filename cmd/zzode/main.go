package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

func main() {
	s := sde.NewVP()
	m := score.GMM8(s)
	blk, _ := strconv.Atoi(os.Args[1])
	cblock, _ := strconv.Atoi(os.Args[2])
	cfg := sample.Config{SDE: s, Score: m, Sampler: os.Args[3], Workers: 2, Block: cblock}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	n := 10000
	for rep := 0; rep < 6; rep++ {
		var el time.Duration
		for k0 := 0; k0 < n; k0 += blk {
			k1 := min(k0+blk, n)
			rows := make([]int, 0, blk)
			for r := k0; r < k1; r++ {
				rows = append(rows, r)
			}
			x := make([]float64, len(rows)*2)
			t0 := time.Now()
			if _, err := sample.Generate(context.Background(), cfg, 1, rows, x, nil); err != nil {
				panic(err)
			}
			el += time.Since(t0)
		}
		fmt.Printf("%.4f ", el.Seconds())
	}
	fmt.Println()
}
