package likelihood

import (
	"math"
	"testing"
)

func TestPixelHistogram(t *testing.T) {
	// Two coordinates, 4 levels, three training rows, add-one smoothing:
	// coordinate 0 sees 0, 0, 1: p = (2+1, 1+1, 1, 1)/7; coordinate 1 sees
	// 1, 2, 1: p = (1, 2+1, 1+1, 1)/7.
	h := FitPixelHistogram([]uint8{0, 1, 0, 2, 1, 1}, 2, 4, 1)
	want := (-math.Log2(3.0/7) - math.Log2(3.0/7) - math.Log2(2.0/7) - math.Log2(1.0/7)) / 4
	mean, _ := h.BitsPerDim([]uint8{0, 1, 1, 3})
	// 1e-12: a sum of four logarithms, no approximation.
	if math.Abs(mean-want) > 1e-12 {
		t.Fatalf("bits/dim %v, want %v", mean, want)
	}
	// Standard error over rows: rows cost (a, b) bits/dim with a =
	// -log2(3/7), b = (-log2(2/7) - log2(1/7))/2; se = |a - b|/2 for two rows.
	a, b := -math.Log2(3.0/7), (-math.Log2(2.0/7)-math.Log2(1.0/7))/2
	if _, se := h.BitsPerDim([]uint8{0, 1, 1, 3}); math.Abs(se-math.Abs(a-b)/2) > 1e-12 {
		t.Fatalf("standard error %v, want %v", se, math.Abs(a-b)/2)
	}
	// Overwhelming smoothing is the uniform distribution on 256 levels:
	// 8 bits/dim exactly, the score_sde convention's value for a density
	// uniform on [-1, 1]^D. 1e-9: the data's weight is 3/(3 + 256e12).
	u := FitPixelHistogram([]uint8{0, 255, 7, 9, 3, 3}, 3, 256, 1e12)
	if mean, _ := u.BitsPerDim([]uint8{1, 2, 3}); math.Abs(mean-8) > 1e-9 {
		t.Fatalf("uniform: %v bits/dim, want 8", mean)
	}
}
