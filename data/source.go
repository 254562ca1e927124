package data

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
)

// Source is a distribution to draw training data from.
type Source interface {
	// Name identifies the source ("gmm8", a file path, ...).
	Name() string
	// Dim is the dimension D of one sample.
	Dim() int
	// Sample writes n rows (n*Dim values, row-major) into dst using r.
	// It panics if n < 0 or len(dst) < n*Dim.
	Sample(dst []float64, n int, r *rand.Rand)
}

// names lists the built-in sources in the order error messages give them.
var names = []string{"gmm8", "swissroll", "checkerboard", "moons", "digits", "digits-train", "digits-test", "fashion-mnist", "fashion-mnist-test"}

// Names returns the names ByName accepts.
func Names() []string { return append([]string(nil), names...) }

// ByName returns a built-in source with its default settings:
//
//	gmm8          GMM8{}
//	swissroll     NewSwissRoll()     (noise 1, scale 1/5)
//	checkerboard  NewCheckerboard()  (4 x 4 board on [-4, 4]^2)
//	moons         NewMoons()         (noise 0.1)
//	digits        NewDigits()        (scaled to [-1, 1], no dequantisation)
//	digits-train  NewDigits() with Split DigitsTrain (image i with i mod 5 != 4)
//	digits-test   NewDigits() with Split DigitsTest (i mod 5 == 4, held out)
//	fashion-mnist       ImageSource of the 60,000 training images (2v/255 - 1, no dequantisation)
//	fashion-mnist-test  ImageSource of the 10,000 test images
//
// The Fashion-MNIST files come from Debian's dataset-fashion-mnist package
// (see LoadFashionMNIST); without them the error says how to install them.
// An unknown name gives an error that lists the valid ones.
func ByName(name string) (Source, error) {
	switch name {
	case "gmm8":
		return GMM8{}, nil
	case "swissroll":
		return NewSwissRoll(), nil
	case "checkerboard":
		return NewCheckerboard(), nil
	case "moons":
		return NewMoons(), nil
	case "digits", "digits-train", "digits-test":
		if _, err := loadDigits(); err != nil {
			return nil, err
		}
		d := NewDigits()
		switch name {
		case "digits-train":
			d.Split = DigitsTrain
		case "digits-test":
			d.Split = DigitsTest
		}
		return d, nil
	case "fashion-mnist", "fashion-mnist-test":
		m, _, err := ImageSet(name)
		if err != nil {
			return nil, err
		}
		return ImageSource{Set: m}, nil
	}
	return nil, fmt.Errorf("data: unknown source %q; valid names: %s", name, strings.Join(names, ", "))
}

// Open returns the source a command line's -data flag names: a built-in
// name (see ByName) or a .csv or .npy file, loaded with Load and resampled
// by an Empirical source.
func Open(spec string) (Source, error) {
	for _, n := range names {
		if spec == n {
			return ByName(spec)
		}
	}
	switch strings.ToLower(filepath.Ext(spec)) {
	case ".csv", ".npy":
		t, err := Load(spec)
		if err != nil {
			return nil, err
		}
		return NewEmpirical(t)
	}
	return nil, fmt.Errorf("data: unknown source %q; use one of %s, or a file ending in %s",
		spec, strings.Join(names, ", "), strings.Join(Extensions, " or "))
}

// checkDst panics unless dst holds n rows of d values.
func checkDst(who string, dst []float64, n, d int) {
	if n < 0 || len(dst) < n*d {
		panic(fmt.Sprintf("data: %s.Sample: n = %d rows of %d need %d values, len(dst) = %d", who, n, d, n*d, len(dst)))
	}
}

// Empirical resamples the rows of a table uniformly with replacement.
type Empirical struct {
	t    *Table
	name string
}

// NewEmpirical returns a source that draws rows of t (which it keeps, not
// copies). t must pass Validate. Its name is t.Name, or "empirical".
func NewEmpirical(t *Table) (*Empirical, error) {
	if err := Validate(t, 0); err != nil {
		return nil, err
	}
	name := t.Name
	if name == "" {
		name = "empirical"
	}
	return &Empirical{t: t, name: name}, nil
}

func (e *Empirical) Name() string { return e.name }
func (e *Empirical) Dim() int     { return e.t.D }

// Table returns the table the rows are drawn from.
func (e *Empirical) Table() *Table { return e.t }

// Sample draws n rows, each an independent uniform choice among the N rows.
func (e *Empirical) Sample(dst []float64, n int, r *rand.Rand) {
	checkDst("Empirical", dst, n, e.t.D)
	e.sample(dst, nil, n, r)
}

// sample draws n rows, and their labels unless labels is nil (0 for a table
// without labels).
func (e *Empirical) sample(dst []float64, labels []int, n int, r *rand.Rand) {
	d := e.t.D
	for i := range n {
		k := r.IntN(e.t.N)
		copy(dst[i*d:(i+1)*d], e.t.X[k*d:(k+1)*d])
		switch {
		case labels == nil:
		case e.t.Labels != nil:
			labels[i] = e.t.Labels[k]
		default:
			labels[i] = 0
		}
	}
}
