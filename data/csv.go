package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ReadCSV reads an n x D table of numbers from comma-separated text. name is
// used in error messages (typically the file path).
//
// The first record is taken as a header, and skipped, when none of its cells
// is a number. Blank lines and lines starting with '#' are ignored, a UTF-8
// byte-order mark is skipped, and spaces around numbers are allowed. Every row
// must have the same number of values (the header's count, if there is a
// header), and every value must be a finite float64.
func ReadCSV(r io.Reader, name string) (*Table, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // ragged rows get our own message
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true

	var (
		x      []float64
		d      = -1 // values per row; -1 until known
		n      int
		header bool
	)
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// pe.Column counts bytes, not values: give the line only.
				return nil, &FileError{Path: name, Line: pe.Line, Row: -1, Col: -1,
					Msg: pe.Err.Error() + " (is this a CSV file?)", Err: err}
			}
			return nil, fileErr(name, "read failed: "+err.Error(), err)
		}
		line, _ := cr.FieldPos(0)
		if first && isHeader(rec) {
			header = true
			d = len(rec)
			continue
		}
		if d < 0 {
			d = len(rec)
		} else if len(rec) != d {
			return nil, lineErr(name, line, 0, fmt.Sprintf(
				"%d values, want %d (rows must all have the same length)", len(rec), d))
		}
		for j, cell := range rec {
			v, err := parseCell(cell)
			if err != nil {
				return nil, lineErr(name, line, j+1, err.Error())
			}
			x = append(x, v)
		}
		n++
	}
	switch {
	case n == 0 && header:
		return nil, fileErr(name, "a header row but no data rows", nil)
	case n == 0:
		return nil, fileErr(name, "empty file (no data rows)", nil)
	}
	return &Table{N: n, D: d, X: x, Name: name}, nil
}

// isHeader reports whether no cell of rec parses as a number.
func isHeader(rec []string) bool {
	for _, c := range rec {
		if _, err := strconv.ParseFloat(strings.TrimSpace(c), 64); err == nil {
			return false
		}
	}
	return true
}

func parseCell(cell string) (float64, error) {
	s := strings.TrimSpace(cell)
	if s == "" {
		return 0, errors.New("empty value")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && math.IsInf(v, 0) {
			return 0, fmt.Errorf("%q is beyond the float64 range", s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if k := nonFinite(v); k != "" {
		return 0, errors.New(k + nonFiniteHint)
	}
	return v, nil
}

// WriteCSV writes t as CSV: a header row x0,x1,...,x{D-1}, then one row per
// line with every value printed as strconv.FormatFloat(v, 'g', 17, 64)
// (%.17g), which reads back bit for bit.
func WriteCSV(w io.Writer, t *Table) error {
	cw := NewCSVWriter(w, t.D)
	if err := cw.WriteRows(t.X[:t.N*t.D]); err != nil {
		return err
	}
	return cw.Flush()
}

// CSVWriter streams rows of a table to CSV as they are produced, so that
// long runs write with bounded memory. The header row is written with the
// first call to WriteRows or Flush.
type CSVWriter struct {
	w       *bufio.Writer
	d       int
	names   []string
	started bool
	rows    int
	buf     []byte
	err     error
}

// NewCSVWriter returns a writer of d-column rows with the header
// x0,x1,...,x{d-1}. It panics if d <= 0.
func NewCSVWriter(w io.Writer, d int) *CSVWriter {
	if d <= 0 {
		panic(fmt.Sprintf("data: NewCSVWriter: d = %d, want > 0", d))
	}
	names := make([]string, d)
	for j := range names {
		names[j] = "x" + strconv.Itoa(j)
	}
	return NewCSVWriterNames(w, names)
}

// NewCSVWriterNames returns a writer whose header row is names (quoted where
// a name holds a comma, quote or line break); rows have len(names) values.
// It panics if names is empty.
func NewCSVWriterNames(w io.Writer, names []string) *CSVWriter {
	if len(names) == 0 {
		panic("data: NewCSVWriterNames: no column names")
	}
	return &CSVWriter{w: bufio.NewWriterSize(w, 1<<16), d: len(names), names: append([]string(nil), names...)}
}

func (c *CSVWriter) writeHeader() {
	c.started = true
	for j, s := range c.names {
		if j > 0 {
			c.w.WriteByte(',')
		}
		if strings.ContainsAny(s, ",\"\r\n") {
			s = `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		c.w.WriteString(s)
	}
	_, c.err = c.w.WriteString("\n")
}

// WriteRows writes the rows of x (len(x)/d rows, row-major). It panics if
// len(x) is not a multiple of d. After the first error every call returns it.
func (c *CSVWriter) WriteRows(x []float64) error {
	if len(x)%c.d != 0 {
		panic(fmt.Sprintf("data: CSVWriter.WriteRows: %d values is not a whole number of %d-column rows", len(x), c.d))
	}
	if c.err != nil {
		return c.err
	}
	if !c.started {
		c.writeHeader()
	}
	for i := 0; i+c.d <= len(x); i += c.d {
		b := c.buf[:0]
		for j, v := range x[i : i+c.d] {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, v, 'g', 17, 64)
		}
		b = append(b, '\n')
		c.buf = b
		if _, err := c.w.Write(b); err != nil {
			c.err = err
			return err
		}
		c.rows++
	}
	return nil
}

// Rows returns the number of rows written so far.
func (c *CSVWriter) Rows() int { return c.rows }

// Flush writes the header (if no row was written yet) and any buffered rows
// to the underlying writer.
func (c *CSVWriter) Flush() error {
	if c.err != nil {
		return c.err
	}
	if !c.started {
		c.writeHeader()
	}
	if err := c.w.Flush(); err != nil {
		c.err = err
	}
	return c.err
}
