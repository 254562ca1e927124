package likelihood

import (
	"fmt"
	"math"
)

// PixelHistogram is the baseline density of quantised data in which every
// coordinate j is independent with its own categorical distribution over the
// Levels values, fitted by counting with add-alpha smoothing:
//
//	p_j(v) = (count_j(v) + alpha) / (n + alpha Levels).
//
// Its bits/dim, -log2 prod_j p_j(x_j) / D, is an exact code length of the
// discrete data, so it compares directly with the dequantised bits/dim of a
// continuous model (an upper bound on that model's discrete code length).
type PixelHistogram struct {
	D, Levels int
	Alpha     float64
	// Bits holds -log2 p_j(v) at [j*Levels + v].
	Bits []float64
}

// FitPixelHistogram counts the rows of pix (n x d values in 0..levels-1;
// levels <= 256) with smoothing alpha > 0 (1: Laplace's rule, so that a
// level never seen in training still has a finite cost).
func FitPixelHistogram(pix []uint8, d, levels int, alpha float64) *PixelHistogram {
	if d < 1 || levels < 2 || levels > 256 || len(pix) == 0 || len(pix)%d != 0 || !(alpha > 0) || math.IsInf(alpha, 0) {
		panic(fmt.Sprintf("likelihood: FitPixelHistogram: %d values, d = %d, levels = %d, alpha = %v", len(pix), d, levels, alpha))
	}
	n := len(pix) / d
	count := make([]float64, d*levels)
	for i := range n {
		for j, v := range pix[i*d : (i+1)*d] {
			if int(v) >= levels {
				panic(fmt.Sprintf("likelihood: FitPixelHistogram: value %d at row %d column %d, levels = %d", v, i, j, levels))
			}
			count[j*levels+int(v)]++
		}
	}
	total := float64(n) + alpha*float64(levels)
	for k, c := range count {
		count[k] = -math.Log2((c + alpha) / total)
	}
	return &PixelHistogram{D: d, Levels: levels, Alpha: alpha, Bits: count}
}

// BitsPerDim returns the mean over the rows of pix of -log2 p(x)/D and its
// standard error over rows (NaN for one row).
func (h *PixelHistogram) BitsPerDim(pix []uint8) (mean, stderr float64) {
	d := h.D
	if len(pix) == 0 || len(pix)%d != 0 {
		panic(fmt.Sprintf("likelihood: PixelHistogram.BitsPerDim: %d values are not rows of %d", len(pix), d))
	}
	n := len(pix) / d
	per := make([]float64, n)
	for i := range n {
		var b float64
		for j, v := range pix[i*d : (i+1)*d] {
			if int(v) >= h.Levels {
				panic(fmt.Sprintf("likelihood: PixelHistogram.BitsPerDim: value %d at row %d column %d, levels = %d", v, i, j, h.Levels))
			}
			b += h.Bits[j*h.Levels+int(v)]
		}
		per[i] = b / float64(d)
	}
	s := Summarise(per)
	return s.Mean, s.StdErr
}
