package data

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"strings"
)

// LabelColumn is the CSV header name of the class label column.
const LabelColumn = "label"

// ErrLabels is wrapped by every error about class labels (missing,
// fractional, negative, of the wrong length), so that a command can tell a
// labeling problem from other bad data.
var ErrLabels = errors.New("bad or missing class labels")

// LabeledSource is a source whose draws carry a class label in
// 0..Classes()-1: gmm8 (the component), the digits (0..9) and files with
// labels. SampleLabeled draws the same points as Sample with the same
// generator state, and stores the label of row i in labels[i].
type LabeledSource interface {
	Source
	// Classes returns the number of classes C (0: the source has no labels).
	Classes() int
	// SampleLabeled is Sample that also writes the n labels.
	SampleLabeled(dst []float64, labels []int, n int, r *rand.Rand)
}

// Labeled returns src as a LabeledSource when it has labels (Classes() > 0),
// or an error naming it and saying how to give labels.
func Labeled(src Source) (LabeledSource, error) {
	if l, ok := src.(LabeledSource); ok && l.Classes() > 0 {
		return l, nil
	}
	return nil, fmt.Errorf("data: %s has no class labels; use gmm8, digits, digits-train, fashion-mnist, or a .csv file with a column named %q (or a .npy file with a NAME.labels.npy beside it) holding integers 0..C-1%w", src.Name(), LabelColumn, noText{ErrLabels})
}

// Classes returns the number of classes of GMM8: its 8 components.
func (GMM8) Classes() int { return GMM8Components }

// Classes returns the number of classes of a table: 1 + its largest label,
// or 0 without labels.
func (t *Table) Classes() int {
	c := 0
	for _, y := range t.Labels {
		c = max(c, y+1)
	}
	return c
}

// Classes returns the number of classes of the table's labels (0: none).
func (e *Empirical) Classes() int { return e.t.Classes() }

// SampleLabeled is Sample (the same draws) that also writes each row's label
// (0 when the table has none).
func (e *Empirical) SampleLabeled(dst []float64, labels []int, n int, r *rand.Rand) {
	checkDst("Empirical", dst, n, e.t.D)
	checkLabelsDst("Empirical", labels, n)
	e.sample(dst, labels, n, r)
}

func checkLabelsDst(who string, labels []int, n int) {
	if len(labels) < n {
		panic(fmt.Sprintf("data: %s.SampleLabeled: len(labels) = %d < n = %d", who, len(labels), n))
	}
}

// classLabel converts a value read from a file to a class label: an integer
// in 0..2^31-1.
func classLabel(v float64) (int, error) {
	if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
		return 0, fmt.Errorf("label %v is not a class (an integer >= 0)", v)
	}
	return int(v), nil
}

// splitLabelColumn moves the column named "label" of a CSV table read from
// raw (when its header has one) into t.Labels.
func splitLabelColumn(t *Table, raw []byte, name string) error {
	hdr := csvHeader(raw)
	col := -1
	for j, h := range hdr {
		if strings.EqualFold(strings.TrimSpace(h), LabelColumn) {
			if col >= 0 {
				return fileErr(name, fmt.Sprintf("two %q columns in the header", LabelColumn), ErrLabels)
			}
			col = j
		}
	}
	if col < 0 {
		return nil
	}
	if t.D == 1 {
		return fileErr(name, fmt.Sprintf("only a %q column; the rows need data values too", LabelColumn), ErrLabels)
	}
	d := t.D - 1
	x := make([]float64, 0, t.N*d)
	labels := make([]int, t.N)
	for i := 0; i < t.N; i++ {
		row := t.X[i*t.D : (i+1)*t.D]
		y, err := classLabel(row[col])
		if err != nil {
			e := lineErr(name, csvDataLine(raw, i), col+1, err.Error())
			e.Err = ErrLabels
			return e
		}
		labels[i] = y
		x = append(append(x, row[:col]...), row[col+1:]...)
	}
	t.X, t.D, t.Labels = x, d, labels
	return nil
}

// csvHeader returns the cells of the first record of a CSV file when it is
// a header (no cell is a number), or nil.
func csvHeader(raw []byte) []string {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	rec, err := cr.Read()
	if err != nil || !isHeader(rec) {
		return nil
	}
	return rec
}

// csvDataLine returns the 1-based line of data row i (0-based) of a CSV file
// with a header: blank and '#' lines do not count as rows.
func csvDataLine(raw []byte, i int) int {
	lines := bytes.Split(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), []byte("\n"))
	row := -1 // the header
	for k, l := range lines {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if row == i {
			return k + 1
		}
		row++
	}
	return 0
}

// LabelsPath returns the file Load reads the labels of a .npy file from:
// NAME.labels.npy beside NAME.npy, a 1-D integer (or integral float) array
// with one label per row.
func LabelsPath(npyPath string) string {
	return npyPath[:len(npyPath)-len(".npy")] + ".labels.npy"
}

// loadNPYLabels attaches the labels of LabelsPath(path) to t, when that file
// exists.
func loadNPYLabels(t *Table, path string) error {
	lp := LabelsPath(path)
	f, err := os.Open(lp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return openErr(lp, err)
	}
	defer f.Close()
	lt, err := ReadNPY(f, lp)
	if err != nil {
		return err
	}
	if lt.D != 1 || lt.N != t.N {
		return fileErr(lp, fmt.Sprintf("%d x %d labels for the %d rows of %s; want %d labels (shape (%d,))", lt.N, lt.D, t.N, path, t.N, t.N), ErrLabels)
	}
	labels := make([]int, t.N)
	for i, v := range lt.X {
		y, err := classLabel(v)
		if err != nil {
			return &FileError{Path: lp, Row: i, Col: -1, Msg: err.Error(), Err: ErrLabels}
		}
		labels[i] = y
	}
	t.Labels = labels
	return nil
}

// noText wraps an error for %w without adding its text to the message.
type noText struct{ err error }

func (noText) Error() string   { return "" }
func (n noText) Unwrap() error { return n.err }
