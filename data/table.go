package data

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Table is an n x D table of float64 values stored row-major: row i is
// X[i*D : (i+1)*D]. Rows are samples (data points), columns are coordinates.
type Table struct {
	N, D int
	X    []float64
	// Name is the file the table was read from (as given to Load), used in
	// error messages; it may be empty.
	Name string
	// Labels holds a class label (0..C-1) per row, or nil: a CSV file's
	// "label" column, or a .npy file's NAME.labels.npy.
	Labels []int
}

// NewTable returns a zero-filled n x d table. It panics if n < 0 or d <= 0.
func NewTable(n, d int) *Table {
	if n < 0 || d <= 0 {
		panic(fmt.Sprintf("data: NewTable(%d, %d): need n >= 0 and d > 0", n, d))
	}
	return &Table{N: n, D: d, X: make([]float64, n*d)}
}

// Row returns row i of t, sharing storage with t.X.
func (t *Table) Row(i int) []float64 {
	return t.X[i*t.D : (i+1)*t.D : (i+1)*t.D]
}

// FileError reports a problem with a data file (or table) and where it is.
// Line and Column are 1-based positions in a CSV file; Row and Col are
// 0-based element indices (used for NPY files and in-memory tables). Zero
// Line and a negative Row mean "no position".
type FileError struct {
	Path   string // the file as named by the caller; may be empty
	Line   int    // CSV line, 1-based; 0 if not applicable
	Column int    // CSV column, 1-based; 0 if not applicable
	Row    int    // 0-based row index; -1 if not applicable
	Col    int    // 0-based column index; -1 if not applicable
	Msg    string // what is wrong and, where possible, what to do
	Err    error  // underlying error, if any
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString("data: ")
	name := e.Path
	if name == "" {
		name = "table"
	}
	b.WriteString(name)
	switch {
	case e.Line > 0:
		b.WriteString(" line ")
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(" column ")
			b.WriteString(strconv.Itoa(e.Column))
		}
	case e.Row >= 0 && e.Col >= 0:
		fmt.Fprintf(&b, " element [%d, %d]", e.Row, e.Col)
	case e.Row >= 0:
		fmt.Fprintf(&b, " row %d", e.Row)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *FileError) Unwrap() error { return e.Err }

// fileErr is a FileError with no position.
func fileErr(path, msg string, err error) *FileError {
	return &FileError{Path: path, Row: -1, Col: -1, Msg: msg, Err: err}
}

func lineErr(path string, line, col int, msg string) *FileError {
	return &FileError{Path: path, Line: line, Column: col, Row: -1, Col: -1, Msg: msg}
}

func elemErr(path string, row, col int, msg string) *FileError {
	return &FileError{Path: path, Row: row, Col: col, Msg: msg}
}

// nonFinite returns "NaN", "+Inf" or "-Inf" for a non-finite v and "" for a
// finite one.
func nonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return ""
}

const nonFiniteHint = "; remove or impute non-finite values"

// Validate checks that t is a well-formed table for a model of dimension
// wantDim: at least one row, D == wantDim (any D > 0 if wantDim <= 0),
// len(X) == N*D, and every value finite. Errors name the table (t.Name) and
// the first offending element (0-based [row, column]).
func Validate(t *Table, wantDim int) error {
	if t == nil {
		return fileErr("", "nil table", nil)
	}
	if t.D <= 0 {
		return fileErr(t.Name, fmt.Sprintf("%d columns; a table needs at least one", t.D), nil)
	}
	if t.N <= 0 {
		return fileErr(t.Name, "no rows", nil)
	}
	if len(t.X) != t.N*t.D {
		return fileErr(t.Name, fmt.Sprintf("holds %d values, want N*D = %d*%d = %d", len(t.X), t.N, t.D, t.N*t.D), nil)
	}
	if wantDim > 0 && t.D != wantDim {
		return fileErr(t.Name, fmt.Sprintf("%d columns, want %d (the dimension of the model or score)", t.D, wantDim), nil)
	}
	for k, v := range t.X {
		if s := nonFinite(v); s != "" {
			return elemErr(t.Name, k/t.D, k%t.D, s+nonFiniteHint)
		}
	}
	return nil
}

// CheckRange checks that every value of t lies in the declared data range
// [lo, hi] (as a likelihood in bits/dim needs: the range fixes the offset
// that converts densities to bits). NaN values fail the check. The error
// names the first offending element (0-based [row, column]).
func CheckRange(t *Table, lo, hi float64) error {
	if !(lo < hi) {
		panic(fmt.Sprintf("data: CheckRange: empty range [%g, %g]", lo, hi))
	}
	for k, v := range t.X {
		if !(v >= lo && v <= hi) {
			return elemErr(t.Name, k/t.D, k%t.D, fmt.Sprintf(
				"value %s outside the declared data range [%s, %s]; rescale the data or declare its true range",
				fmtFloat(v), fmtFloat(lo), fmtFloat(hi)))
		}
	}
	return nil
}

// fmtFloat formats v in the shortest form that reads back exactly.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
