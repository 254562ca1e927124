package nb

import (
	"fmt"
	"math"

	"github.com/sdekit/sdekit/metrics"
	"github.com/sdekit/sdekit/score"
)

// Metrics compares n samples with a reference distribution whose moments are
// known exactly and from which fresh samples can be drawn. The distances are
// those of package metrics, plus a histogram distance; each distance comes
// with its floor, the value two independent exact samples of the same size
// show (what a perfect sampler would get).
type Metrics struct {
	N int
	// MeanErr is |mean - exact mean| (metrics.MeanError).
	MeanErr float64
	// CovErr is |C_hat - C|_F / |C|_F (metrics.CovarianceError).
	CovErr float64
	// ModeTV is the total-variation distance between the mixture weights and
	// their estimates from the sample (mean responsibilities,
	// metrics.ComponentWeights); NaN when the reference is not a mixture.
	ModeTV float64
	// LogProbGap is the mean of log p_0 over the samples minus E_{p_0}[log p_0]
	// (metrics.LogProbGap), LogProbGapSE its standard error: 0 for exact
	// samples, negative for mass where p_0 is small. NaN for non-mixtures.
	LogProbGap, LogProbGapSE float64
	// SlicedW2 is the sliced 2-Wasserstein distance to a fresh exact sample
	// (64 fixed directions, metrics.SlicedW2).
	SlicedW2, SlicedW2Floor float64
	// Energy is the squared energy distance to a fresh exact sample
	// (metrics.EnergyDistance, a V-statistic with an O(1/n) floor).
	Energy, EnergyFloor float64
	// HistTV is the total-variation distance between the 2-D histograms
	// (first two coordinates, 24 x 24 bins over the fresh exact sample's
	// range, plus one bin for everything outside) of the samples and a fresh
	// exact sample. It sees thin structure (the arms of a spiral) that
	// projections and moments average away.
	HistTV, HistTVFloor float64
}

// String prints the metrics on one line.
func (m Metrics) String() string {
	s := fmt.Sprintf("n=%d |mean err|=%.3g rel cov err=%.3g", m.N, m.MeanErr, m.CovErr)
	if !math.IsNaN(m.ModeTV) {
		s += fmt.Sprintf(" mode TV=%.3g log p gap=%.3g+-%.2g", m.ModeTV, m.LogProbGap, m.LogProbGapSE)
	}
	return s + fmt.Sprintf(" sliced W2=%.3g (floor %.3g) energy=%.3g (floor %.3g) hist TV=%.3g (floor %.3g)",
		m.SlicedW2, m.SlicedW2Floor, m.Energy, m.EnergyFloor, m.HistTV, m.HistTVFloor)
}

// reference is a distribution to compare samples with.
type reference struct {
	d    int
	mean []float64
	cov  []float64 // d x d
	mix  *score.Mixture
	draw func(n int, seed uint64) []float64
}

// mixtureRef returns the reference of the mixture's p_0.
func mixtureRef(m *score.Mixture) *reference {
	mean, cov := metrics.MixtureMoments(m, 0)
	return &reference{d: m.Dim(), mean: mean, cov: cov, mix: m,
		draw: func(n int, seed uint64) []float64 { return drawData(m, n, seed) }}
}

// Seeds of the fresh reference samples and of the fixed random choices inside
// the metrics; no sampler run here uses them.
const (
	refSeedA   = 0x5eed0001
	refSeedB   = 0x5eed0002
	metricSeed = 0xd1ec
)

// compare computes the Metrics of x (n x d) against ref.
func (ref *reference) compare(x []float64) Metrics {
	d := ref.d
	n := len(x) / d
	m := Metrics{N: n, ModeTV: math.NaN(), LogProbGap: math.NaN(), LogProbGapSE: math.NaN()}
	m.MeanErr = metrics.MeanError(x, d, ref.mean)
	m.CovErr = metrics.CovarianceError(x, d, ref.cov)
	if ref.mix != nil {
		w, _ := metrics.ComponentWeights(ref.mix, x)
		var tv float64
		for k, wk := range ref.mix.Weights {
			tv += math.Abs(w[k] - wk)
		}
		m.ModeTV = tv / 2
		m.LogProbGap, m.LogProbGapSE = metrics.LogProbGap(ref.mix, x, 20000, newRand(metricSeed))
	}
	a := ref.draw(n, refSeedA)
	b := ref.draw(n, refSeedB)
	// The same directions for the sample and the floor.
	m.SlicedW2 = metrics.SlicedW2(x, a, d, 64, newRand(metricSeed))
	m.SlicedW2Floor = metrics.SlicedW2(b, a, d, 64, newRand(metricSeed))
	m.Energy = metrics.EnergyDistance(x, a, d)
	m.EnergyFloor = metrics.EnergyDistance(b, a, d)
	m.HistTV = histTV(x, a, d)
	m.HistTVFloor = histTV(b, a, d)
	return m
}

// histTV returns the total-variation distance between the 2-D histograms of
// the first two coordinates of x and ref (24 x 24 bins over ref's range,
// widened by 5%, and one bin for points outside).
func histTV(x, ref []float64, d int) float64 {
	const k = 24
	lo := [2]float64{math.Inf(1), math.Inf(1)}
	hi := [2]float64{math.Inf(-1), math.Inf(-1)}
	for i := 0; i+1 < len(ref); i += d {
		for j := 0; j < 2; j++ {
			lo[j], hi[j] = math.Min(lo[j], ref[i+j]), math.Max(hi[j], ref[i+j])
		}
	}
	for j := 0; j < 2; j++ {
		w := hi[j] - lo[j]
		lo[j], hi[j] = lo[j]-0.05*w, hi[j]+0.05*w
	}
	bin := func(p []float64) int {
		var b [2]int
		for j := 0; j < 2; j++ {
			u := (p[j] - lo[j]) / (hi[j] - lo[j])
			if !(u >= 0 && u < 1) {
				return k * k
			}
			b[j] = int(u * k)
		}
		return b[0]*k + b[1]
	}
	hx := make([]float64, k*k+1)
	hr := make([]float64, k*k+1)
	nx, nr := float64(len(x)/d), float64(len(ref)/d)
	for i := 0; i+1 < len(x); i += d {
		hx[bin(x[i:i+2])] += 1 / nx
	}
	for i := 0; i+1 < len(ref); i += d {
		hr[bin(ref[i:i+2])] += 1 / nr
	}
	var tv float64
	for i := range hx {
		tv += math.Abs(hx[i] - hr[i])
	}
	return tv / 2
}
