package vmath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// Exp1 is Exp on one value, bit for bit, through the kernel Exp uses for
// slices of 4 (the assembly on this machine) as well as the portable one.
func TestExp1(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for range 10000 {
		x := [4]float64{-30 * r.Float64(), 2 * r.NormFloat64(), -r.Float64(), 700 * r.NormFloat64()}
		var y [4]float64
		Exp(y[:], x[:])
		for i, v := range x {
			if e := Exp1(v); e != y[i] && !(math.IsNaN(e) && math.IsNaN(y[i])) {
				t.Fatalf("Exp1(%v) = %v, Exp %v", v, e, y[i])
			}
		}
	}
}

// expm1Big is e^x - 1 to 256 bits by its Taylor series, rounded to float64.
func expm1Big(x float64) float64 {
	const prec = 256
	bx := new(big.Float).SetPrec(prec).SetFloat64(x)
	term := new(big.Float).SetPrec(prec).Set(bx)
	sum := new(big.Float).SetPrec(prec).Set(bx)
	for n := 2; n < 60; n++ {
		term.Mul(term, bx)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(n)))
		sum.Add(sum, term)
	}
	f, _ := sum.Float64()
	return f
}

// Expm1Small is within 1 ulp of e^x - 1 (a 256-bit series) on
// [-0.35, 0.35], including tiny arguments where e^x - 1 is x to working
// precision; 0 gives 0.
func TestExpm1Small(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	worst := 0.0
	check := func(x float64) {
		got, want := Expm1Small(x), expm1Big(x)
		if got == want {
			return
		}
		ulps := math.Abs(got-want) / (math.Nextafter(math.Abs(want), math.Inf(1)) - math.Abs(want))
		worst = max(worst, ulps)
		if ulps > 1 {
			t.Errorf("Expm1Small(%v) = %v, e^x - 1 = %v (%.2g ulp)", x, got, want, ulps)
		}
	}
	for range 20000 {
		check(0.35 * (2*r.Float64() - 1))
	}
	for _, x := range []float64{0.35, -0.35, 1e-300, -1e-300, 1e-10, -5e-7} {
		check(x)
	}
	if Expm1Small(0) != 0 {
		t.Error("Expm1Small(0) != 0")
	}
	t.Logf("largest error: %.2f ulp", worst)
}
