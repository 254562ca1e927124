package data

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
)

// digitsGz is the UCI optical-recognition digits test set as redistributed
// by scikit-learn (see DIGITS.md): 1797 lines of 64 pixels 0..16 and a label.
//
//go:embed digits.csv.gz
var digitsGz []byte

// Shape of the digits data set.
const (
	DigitsN      = 1797 // images
	DigitsDim    = 64   // 8 x 8 pixels, row-major
	DigitsLevels = 17   // pixel values 0..16
)

type digitsData struct {
	pix    []uint8 // DigitsN x DigitsDim
	labels []int
}

var (
	digitsOnce sync.Once
	digitsVal  *digitsData
	digitsErr  error
)

func loadDigits() (*digitsData, error) {
	digitsOnce.Do(func() { digitsVal, digitsErr = parseDigits(digitsGz) })
	return digitsVal, digitsErr
}

func parseDigits(gz []byte) (*digitsData, error) {
	const name = "embedded digits.csv.gz"
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fileErr(name, err.Error(), err)
	}
	cr := csv.NewReader(zr)
	cr.FieldsPerRecord = DigitsDim + 1
	cr.ReuseRecord = true
	d := &digitsData{pix: make([]uint8, 0, DigitsN*DigitsDim), labels: make([]int, 0, DigitsN)}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fileErr(name, err.Error(), err)
		}
		line, _ := cr.FieldPos(0)
		for j, c := range rec {
			v, err := strconv.ParseFloat(c, 64)
			hi := 16.0
			if j == DigitsDim {
				hi = 9
			}
			if err != nil || v != float64(int(v)) || v < 0 || v > hi {
				return nil, lineErr(name, line, j+1, fmt.Sprintf("%q is not an integer in 0..%g", c, hi))
			}
			if j == DigitsDim {
				d.labels = append(d.labels, int(v))
			} else {
				d.pix = append(d.pix, uint8(v))
			}
		}
	}
	if err := zr.Close(); err != nil {
		return nil, fileErr(name, err.Error(), err)
	}
	if len(d.labels) != DigitsN {
		return nil, fileErr(name, fmt.Sprintf("%d images, want %d", len(d.labels), DigitsN), nil)
	}
	return d, nil
}

// Digits returns the 8 x 8 handwritten digits: pixels (n x d row-major,
// n = 1797, d = 64, integer values 0..16 as float64) and labels (0..9).
// The slices are fresh copies. The data ship inside the package (see
// DIGITS.md for source and licence); err is non-nil only if the embedded
// copy is corrupt.
func Digits() (pixels []float64, labels []int, n, d int, err error) {
	dd, err := loadDigits()
	if err != nil {
		return nil, nil, 0, 0, err
	}
	pixels = make([]float64, len(dd.pix))
	for i, v := range dd.pix {
		pixels[i] = float64(v)
	}
	return pixels, append([]int(nil), dd.labels...), DigitsN, DigitsDim, nil
}

// DigitsScaling says how DigitsSource maps a pixel v in 0..16 to a value.
type DigitsScaling int

const (
	// DigitsSymmetric maps to [-1, 1]: v/8 - 1, or 2 (v + u)/17 - 1 with
	// dequantisation.
	DigitsSymmetric DigitsScaling = iota
	// DigitsUnit maps to [0, 1]: v/16, or (v + u)/17 with dequantisation.
	DigitsUnit
	// DigitsRaw keeps v (0..16), or v + u in [0, 17) with dequantisation.
	DigitsRaw
)

func (s DigitsScaling) String() string {
	switch s {
	case DigitsSymmetric:
		return "symmetric [-1, 1]"
	case DigitsUnit:
		return "unit [0, 1]"
	case DigitsRaw:
		return "raw 0..16"
	}
	return "DigitsScaling(" + strconv.Itoa(int(s)) + ")"
}

// DigitsSource draws the 8 x 8 digits (D = 64), each image chosen uniformly
// with replacement, with its pixels v = 0..16 scaled by Scaling.
//
// Without dequantisation the 17 levels map to evenly spaced points that
// include both ends of the range (v/16, v/8 - 1). With Dequantize each
// pixel becomes v + u with u ~ U[0, 1) (one r.Float64() per pixel), divided
// by 17 for the unit range: the uniform dequantisation of Theis et al.
// (2016) that makes a continuous density's log-likelihood a bound on the
// discrete one. The dequantised values fill [lo, lo + w) with w = 1 (Unit),
// 2 (Symmetric) or 17 (Raw), so a density p on them gives, in bits per
// pixel (D = 64, 17 levels; not 2^bits),
//
//	bpd = -(log p(x) + D log(w/17)) / (D ln 2).
type DigitsSource struct {
	Scaling    DigitsScaling
	Dequantize bool
	// Split draws from all images (DigitsAll, the default), the training
	// split or the held-out split (see DigitsSplit).
	Split DigitsSplit
}

// DigitsSplit selects images of the digits by a fixed rule: image i (0-based,
// in the order of the embedded file) is held out when i mod 5 = 4. So
// DigitsTest has the 359 images 4, 9, ..., 1794 and DigitsTrain the other
// 1438, every class in both (a classifier's held-out accuracy is measured on
// DigitsTest; issues 19 and 20 use this split).
type DigitsSplit int

const (
	DigitsAll   DigitsSplit = iota // all 1797 images ("digits")
	DigitsTrain                    // i mod 5 != 4: 1438 images ("digits-train")
	DigitsTest                     // i mod 5 == 4: 359 images ("digits-test")
)

// DigitsHeldOut reports whether image i is in the held-out split.
func DigitsHeldOut(i int) bool { return i%5 == 4 }

// Indices returns the images of the split, in file order.
func (sp DigitsSplit) Indices() []int {
	var idx []int
	for i := 0; i < DigitsN; i++ {
		if sp == DigitsAll || (sp == DigitsTest) == DigitsHeldOut(i) {
			idx = append(idx, i)
		}
	}
	return idx
}

// NewDigits returns the default digits source: scaled to [-1, 1], no
// dequantisation (the setting for training).
func NewDigits() DigitsSource { return DigitsSource{Scaling: DigitsSymmetric} }

// Name returns "digits", "digits-train" or "digits-test" by Split.
func (s DigitsSource) Name() string {
	switch s.Split {
	case DigitsTrain:
		return "digits-train"
	case DigitsTest:
		return "digits-test"
	}
	return "digits"
}

func (DigitsSource) Dim() int { return DigitsDim }

// Classes returns 10, the digits 0..9.
func (DigitsSource) Classes() int { return 10 }

// Sample draws n images: an index r.IntN(m) for each (m images in the
// split: 1797 for all), then, with Dequantize, 64 r.Float64(). It panics if
// the embedded data are corrupt (ByName reports that as an error instead).
func (s DigitsSource) Sample(dst []float64, n int, r *rand.Rand) {
	s.sample(dst, nil, n, r)
}

// SampleLabeled is Sample that also writes each image's digit.
func (s DigitsSource) SampleLabeled(dst []float64, labels []int, n int, r *rand.Rand) {
	checkLabelsDst("DigitsSource", labels, n)
	s.sample(dst, labels, n, r)
}

// Table returns every image of the split once, in file order, scaled as
// Sample scales them (without dequantisation), with their labels.
func (s DigitsSource) Table() (*Table, error) {
	dd, err := loadDigits()
	if err != nil {
		return nil, err
	}
	idx := s.Split.Indices()
	t := &Table{N: len(idx), D: DigitsDim, X: make([]float64, len(idx)*DigitsDim), Labels: make([]int, len(idx)), Name: s.Name()}
	scale, shift := s.affine(false)
	for i, k := range idx {
		for j, v := range dd.pix[k*DigitsDim : (k+1)*DigitsDim] {
			t.X[i*DigitsDim+j] = float64(v)*scale + shift
		}
		t.Labels[i] = dd.labels[k]
	}
	return t, nil
}

// affine returns the scale and shift of a pixel value (v or v + u).
func (s DigitsSource) affine(dequantize bool) (scale, shift float64) {
	switch s.Scaling {
	case DigitsSymmetric:
		scale, shift = 2.0/16, -1
		if dequantize {
			scale = 2.0 / DigitsLevels
		}
	case DigitsUnit:
		scale = 1.0 / 16
		if dequantize {
			scale = 1.0 / DigitsLevels
		}
	case DigitsRaw:
		scale = 1
	default:
		panic(fmt.Sprintf("data: DigitsSource: unknown Scaling %d", int(s.Scaling)))
	}
	return scale, shift
}

var digitsSplits = map[DigitsSplit][]int{
	DigitsTrain: DigitsTrain.Indices(),
	DigitsTest:  DigitsTest.Indices(),
}

func (s DigitsSource) sample(dst []float64, labels []int, n int, r *rand.Rand) {
	checkDst("DigitsSource", dst, n, DigitsDim)
	dd, err := loadDigits()
	if err != nil {
		panic(err)
	}
	var idx []int
	switch s.Split {
	case DigitsAll:
	case DigitsTrain, DigitsTest:
		idx = digitsSplits[s.Split]
	default:
		panic(fmt.Sprintf("data: DigitsSource: unknown Split %d", int(s.Split)))
	}
	scale, shift := s.affine(s.Dequantize)
	for i := range n {
		var k int
		if idx == nil {
			k = r.IntN(DigitsN)
		} else {
			k = idx[r.IntN(len(idx))]
		}
		if labels != nil {
			labels[i] = dd.labels[k]
		}
		src := dd.pix[k*DigitsDim : (k+1)*DigitsDim]
		row := dst[i*DigitsDim : (i+1)*DigitsDim]
		for j, v := range src {
			x := float64(v)
			if s.Dequantize {
				x += r.Float64()
			}
			row[j] = x*scale + shift
		}
	}
}
