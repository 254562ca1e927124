package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The gmm8 reference problem (reference.md section 6).
const (
	GMM8Components = 8   // equal-weight components
	GMM8Radius     = 4.0 // means lie on the circle of this radius
	GMM8Std        = 0.5 // standard deviation of each coordinate
)

var gmm8Means = func() (m [GMM8Components][2]float64) {
	for k := range m {
		a := 2 * math.Pi * float64(k) / GMM8Components
		m[k] = [2]float64{GMM8Radius * math.Cos(a), GMM8Radius * math.Sin(a)}
	}
	return m
}()

// GMM8Mean returns the mean of component k = 0..7:
// 4 (cos 2 pi k/8, sin 2 pi k/8), computed as
// GMM8Radius * math.Cos(2*math.Pi*float64(k)/8) (and Sin).
func GMM8Mean(k int) (x, y float64) { return gmm8Means[k][0], gmm8Means[k][1] }

// GMM8 is the 2-D mixture of 8 equal-weight Gaussians with means
// 4 (cos 2 pi k/8, sin 2 pi k/8) and covariance 0.25 I (std 0.5), exactly the
// gmm8 reference problem whose score is known in closed form.
type GMM8 struct{}

func (GMM8) Name() string { return "gmm8" }
func (GMM8) Dim() int     { return 2 }

// Sample draws n points: for each, a component k = r.IntN(8), then
// mean_k + 0.5 (r.NormFloat64(), r.NormFloat64()).
func (g GMM8) Sample(dst []float64, n int, r *rand.Rand) { g.SampleLabeled(dst, nil, n, r) }

// SampleLabeled is Sample that also stores the component of row i in
// comp[i] when comp is not nil (the draws, and so the points, are the same
// as Sample's).
func (GMM8) SampleLabeled(dst []float64, comp []int, n int, r *rand.Rand) {
	checkDst("GMM8", dst, n, 2)
	if comp != nil && len(comp) < n {
		panic(fmt.Sprintf("data: GMM8.SampleLabeled: len(comp) = %d < n = %d", len(comp), n))
	}
	for i := range n {
		k := r.IntN(GMM8Components)
		if comp != nil {
			comp[i] = k
		}
		dst[2*i] = gmm8Means[k][0] + GMM8Std*r.NormFloat64()
		dst[2*i+1] = gmm8Means[k][1] + GMM8Std*r.NormFloat64()
	}
}

// Mean returns the exact mean, (0, 0).
func (GMM8) Mean() []float64 { return []float64{0, 0} }

// Cov returns the exact covariance (row-major 2 x 2): the means give
// E[mu mu^T] = (16/2) I = 8 I (cos^2 and sin^2 average 1/2 over the 8
// angles, cos sin averages 0), plus the component covariance 0.25 I.
func (GMM8) Cov() []float64 {
	v := GMM8Radius*GMM8Radius/2 + GMM8Std*GMM8Std
	return []float64{v, 0, 0, v}
}

// Swiss-roll angle range.
const (
	SwissRollThetaMin = 1.5 * math.Pi
	SwissRollThetaMax = 4.5 * math.Pi
)

// SwissRoll is the 2-D Swiss roll: theta ~ U[1.5 pi, 4.5 pi] and
//
//	x = Scale * (theta cos theta + Noise z1,  theta sin theta + Noise z2),  z ~ N(0, I).
//
// Noise is added before scaling, as in scikit-learn's make_swiss_roll
// followed by the division by 5 of the FFJORD toy data; NewSwissRoll gives
// that setting (Noise 1, Scale 1/5); the noise-free curve then spans
// x in [-1.9, 2.6], y in [-2.2, 2.9]. Standardized rescales to unit variance.
type SwissRoll struct {
	Noise float64 // std of the Gaussian noise, in unscaled units (>= 0)
	Scale float64 // overall scale factor (> 0)
}

// NewSwissRoll returns the FFJORD setting: Noise 1, Scale 1/5.
func NewSwissRoll() SwissRoll { return SwissRoll{Noise: 1, Scale: 0.2} }

func (SwissRoll) Name() string { return "swissroll" }
func (SwissRoll) Dim() int     { return 2 }

// Sample draws n points: theta = 1.5 pi + 3 pi r.Float64(), then two
// r.NormFloat64() for the noise.
func (s SwissRoll) Sample(dst []float64, n int, r *rand.Rand) {
	checkDst("SwissRoll", dst, n, 2)
	if !(s.Scale > 0) || !(s.Noise >= 0) {
		panic(fmt.Sprintf("data: SwissRoll{Noise: %g, Scale: %g}: need Noise >= 0 and Scale > 0 (use NewSwissRoll)", s.Noise, s.Scale))
	}
	for i := range n {
		th := SwissRollThetaMin + (SwissRollThetaMax-SwissRollThetaMin)*r.Float64()
		sn, cs := math.Sincos(th)
		dst[2*i] = s.Scale * (th*cs + s.Noise*r.NormFloat64())
		dst[2*i+1] = s.Scale * (th*sn + s.Noise*r.NormFloat64())
	}
}

// Mean returns the exact mean Scale * (2, 2/(3 pi)): with a = 1.5 pi,
// b = 4.5 pi, E[theta e^{i theta}] = [(1 - i theta) e^{i theta}]_a^b / (3 pi)
// = (6 pi + 2i)/(3 pi).
func (s SwissRoll) Mean() []float64 {
	return []float64{2 * s.Scale, 2 / (3 * math.Pi) * s.Scale}
}

// Cov returns the exact covariance (row-major 2 x 2). With
// E[theta^2] = (b^3 - a^3)/(3 (b - a)) = 9.75 pi^2, E[theta^2 cos 2theta] = -1/2
// and E[theta^2 sin 2theta] = 3 pi:
//
//	Var x = Scale^2 ((9.75 pi^2 - 1/2)/2 - 4 + Noise^2)
//	Var y = Scale^2 ((9.75 pi^2 + 1/2)/2 - 4/(9 pi^2) + Noise^2)
//	Cov   = Scale^2 (3 pi/2 - 4/(3 pi))
func (s SwissRoll) Cov() []float64 {
	pi2 := math.Pi * math.Pi
	s2, e2 := s.Scale*s.Scale, s.Noise*s.Noise
	vx := s2 * ((9.75*pi2-0.5)/2 - 4 + e2)
	vy := s2 * ((9.75*pi2+0.5)/2 - 4/(9*pi2) + e2)
	c := s2 * (1.5*math.Pi - 4/(3*math.Pi))
	return []float64{vx, c, c, vy}
}

// Standardized returns s with Scale chosen so that the average coordinate
// variance, (Var x + Var y)/2 = Scale^2 ((9.75 pi^2 - 4 - 4/(9 pi^2))/2 + Noise^2),
// is 1. The mean is not removed (it is Scale (2, 2/(3 pi)), about (0.29, 0.03)
// for Noise 1).
func (s SwissRoll) Standardized() SwissRoll {
	pi2 := math.Pi * math.Pi
	v := (9.75*pi2-4-4/(9*pi2))/2 + s.Noise*s.Noise
	return SwissRoll{Noise: s.Noise, Scale: 1 / math.Sqrt(v)}
}

// Checkerboard is uniform on the dark squares of a Cells x Cells board
// covering [-HalfWidth, HalfWidth]^2: square (i, j), i, j = 0..Cells-1, is
// [-H + i w, -H + (i+1) w) x [-H + j w, -H + (j+1) w) with w = 2H/Cells, and
// is dark when i + j is even (the corner squares are dark). NewCheckerboard
// gives the 4 x 4 board on [-4, 4]^2 (8 dark squares of side 2).
type Checkerboard struct {
	Cells     int     // squares per side; even, >= 2
	HalfWidth float64 // the board is [-HalfWidth, HalfWidth]^2; > 0
}

// NewCheckerboard returns the 4 x 4 board on [-4, 4]^2.
func NewCheckerboard() Checkerboard { return Checkerboard{Cells: 4, HalfWidth: 4} }

func (Checkerboard) Name() string { return "checkerboard" }
func (Checkerboard) Dim() int     { return 2 }

func (c Checkerboard) check() {
	if c.Cells < 2 || c.Cells%2 != 0 || !(c.HalfWidth > 0) {
		panic(fmt.Sprintf("data: Checkerboard{Cells: %d, HalfWidth: %g}: need an even Cells >= 2 and HalfWidth > 0 (use NewCheckerboard)", c.Cells, c.HalfWidth))
	}
}

// Sample draws n points: a column i = r.IntN(Cells), a dark row j of that
// column (same parity as i, r.IntN(Cells/2)), then a uniform point of the
// square (two r.Float64()). Every dark square has probability 2/Cells^2.
func (c Checkerboard) Sample(dst []float64, n int, r *rand.Rand) {
	checkDst("Checkerboard", dst, n, 2)
	c.check()
	w := 2 * c.HalfWidth / float64(c.Cells)
	for i := range n {
		ci := r.IntN(c.Cells)
		cj := ci%2 + 2*r.IntN(c.Cells/2)
		dst[2*i] = -c.HalfWidth + w*(float64(ci)+r.Float64())
		dst[2*i+1] = -c.HalfWidth + w*(float64(cj)+r.Float64())
	}
}

// Dark reports whether (x, y) lies on a dark square of the board.
func (c Checkerboard) Dark(x, y float64) bool {
	c.check()
	h := c.HalfWidth
	if !(x >= -h && x < h && y >= -h && y < h) {
		return false
	}
	w := 2 * h / float64(c.Cells)
	i := min(int(math.Floor((x+h)/w)), c.Cells-1)
	j := min(int(math.Floor((y+h)/w)), c.Cells-1)
	return (i+j)%2 == 0
}

// Mean returns the exact mean, (0, 0) (the dark squares are symmetric
// under x -> -x).
func (c Checkerboard) Mean() []float64 { return []float64{0, 0} }

// Cov returns the exact covariance (row-major 2 x 2): each coordinate is
// uniform on [-H, H] (variance H^2/3), and the covariance is the average of
// the products of the dark squares' centres (1 for the 4 x 4 board on
// [-4, 4]^2: the squares on the main diagonal outweigh the others).
func (c Checkerboard) Cov() []float64 {
	c.check()
	w := 2 * c.HalfWidth / float64(c.Cells)
	var s float64
	var k int
	for i := range c.Cells {
		for j := i % 2; j < c.Cells; j += 2 {
			s += (-c.HalfWidth + w*(float64(i)+0.5)) * (-c.HalfWidth + w*(float64(j)+0.5))
			k++
		}
	}
	v := c.HalfWidth * c.HalfWidth / 3
	return []float64{v, s / float64(k), s / float64(k), v}
}

// Moons is scikit-learn's two interleaving half circles, with t ~ U[0, pi]
// (uniform, where make_moons spaces t evenly) and each moon chosen with
// probability 1/2:
//
//	upper moon: (cos t, sin t)              + Noise z
//	lower moon: (1 - cos t, 1/2 - sin t)    + Noise z,   z ~ N(0, I).
type Moons struct {
	Noise float64 // std of the Gaussian noise (>= 0)
}

// NewMoons returns Moons{Noise: 0.1}.
func NewMoons() Moons { return Moons{Noise: 0.1} }

func (Moons) Name() string { return "moons" }
func (Moons) Dim() int     { return 2 }

// Sample draws n points: the moon (r.IntN(2)), t = pi r.Float64(), then two
// r.NormFloat64().
func (m Moons) Sample(dst []float64, n int, r *rand.Rand) {
	checkDst("Moons", dst, n, 2)
	if !(m.Noise >= 0) {
		panic(fmt.Sprintf("data: Moons{Noise: %g}: need Noise >= 0", m.Noise))
	}
	for i := range n {
		lower := r.IntN(2) == 1
		sn, cs := math.Sincos(math.Pi * r.Float64())
		x, y := cs, sn
		if lower {
			x, y = 1-cs, 0.5-sn
		}
		dst[2*i] = x + m.Noise*r.NormFloat64()
		dst[2*i+1] = y + m.Noise*r.NormFloat64()
	}
}

// Mean returns the exact mean (1/2, 1/4) (E cos t = 0, E sin t = 2/pi).
func (Moons) Mean() []float64 { return []float64{0.5, 0.25} }

// Cov returns the exact covariance (row-major 2 x 2):
// Var x = 3/4 + Noise^2, Var y = 9/16 - 1/pi + Noise^2, Cov = 1/8 - 1/pi.
func (m Moons) Cov() []float64 {
	e2 := m.Noise * m.Noise
	c := 0.125 - 1/math.Pi
	return []float64{0.75 + e2, c, c, 0.5625 - 1/math.Pi + e2}
}
