package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// ReadCSV reads an n x D table of numbers from comma-separated text. name is
// used in error messages (typically the file path).
//
// The first record is taken as a header, and skipped, when none of its cells
// is a number. A header cell "label" (any letter case) makes that column the
// rows' class labels (Table.Labels, integers >= 0), not data. Blank lines and lines starting with '#' are ignored, a UTF-8
// byte-order mark is skipped, and spaces around numbers are allowed. Every row
// must have the same number of values (the header's count, if there is a
// header), and every value must be a finite float64.
func ReadCSV(r io.Reader, name string) (*Table, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fileErr(name, "read failed: "+err.Error(), err)
	}
	// The common case, plain numbers without quotes, is parsed by the fast
	// path below; anything it does not take (quotes, a bad value, ragged
	// rows) goes through encoding/csv, which gives the exact messages.
	t, ok := fastCSV(raw, name)
	if !ok {
		if t, err = readCSV(bytes.NewReader(raw), name); err != nil {
			return nil, err
		}
	}
	if err := splitLabelColumn(t, raw, name); err != nil {
		return nil, err
	}
	return t, nil
}

// readCSV is ReadCSV through encoding/csv.
func readCSV(r io.Reader, name string) (*Table, error) {
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
// (%.17g), which reads back bit for bit. A table with Labels gets a last
// column "label" (ReadCSV reads it back as the labels).
func WriteCSV(w io.Writer, t *Table) error {
	if t.Labels != nil {
		names := make([]string, t.D+1)
		for j := range t.D {
			names[j] = "x" + strconv.Itoa(j)
		}
		names[t.D] = LabelColumn
		x := make([]float64, 0, t.N*(t.D+1))
		for i := range t.N {
			x = append(append(x, t.X[i*t.D:(i+1)*t.D]...), float64(t.Labels[i]))
		}
		cw := NewCSVWriterNames(w, names)
		if err := cw.WriteRows(x); err != nil {
			return err
		}
		return cw.Flush()
	}
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

// fastCSV parses text of plain numbers (no quotes) with ReadCSV's rules:
// an optional UTF-8 byte-order mark, a header when no cell of the first
// record is a number, blank lines and '#' lines skipped, spaces around
// values, every row as long as the first, every value finite. It reports
// false for anything else, which ReadCSV then reads through encoding/csv
// for its messages. Large inputs are split at line ends and parsed on up to
// four goroutines (a 1000 x 784 file of %.17g values: 105 ms through
// encoding/csv, the time of a whole gauss:784 likelihood).
func fastCSV(raw []byte, name string) (*Table, bool) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(raw, '"') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		return nil, false
	}
	// The first record: the header or the first row.
	pos, start := 0, -1
	var first []byte
	for pos < len(raw) {
		end := len(raw)
		if i := bytes.IndexByte(raw[pos:], '\n'); i >= 0 {
			end = pos + i
		}
		line := raw[pos:end]
		next := min(end+1, len(raw))
		if len(line) > 0 && line[0] != '#' {
			if len(bytes.TrimSpace(line)) == 0 {
				return nil, false // encoding/csv's answer: an empty value
			}
			first, start = line, pos
			pos = next
			break
		}
		pos = next
	}
	if first == nil {
		return nil, false
	}
	d := bytes.Count(first, []byte(",")) + 1
	cells := make([]string, 0, d)
	for _, c := range bytes.Split(first, []byte(",")) {
		cells = append(cells, string(c))
	}
	body := raw[pos:]
	if !isHeader(cells) {
		body = raw[start:]
	}
	// Split the body at line ends into chunks for the workers.
	const minChunk = 1 << 20
	workers := min(4, max(1, len(body)/minChunk))
	var chunks [][]byte
	for k := 0; k < workers && len(body) > 0; k++ {
		cut := len(body)
		if k < workers-1 {
			cut = min(len(body), len(body)/(workers-k))
			if i := bytes.IndexByte(body[cut:], '\n'); i >= 0 {
				cut += i + 1
			} else {
				cut = len(body)
			}
		}
		chunks = append(chunks, body[:cut])
		body = body[cut:]
	}
	parts := make([][]float64, len(chunks))
	oks := make([]bool, len(chunks))
	var wg sync.WaitGroup
	for k, c := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[k], oks[k] = fastRows(c, d)
		}()
	}
	wg.Wait()
	n := 0
	for k := range parts {
		if !oks[k] {
			return nil, false
		}
		n += len(parts[k]) / d
	}
	if n == 0 {
		return nil, false
	}
	x := make([]float64, 0, n*d)
	for _, p := range parts {
		x = append(x, p...)
	}
	return &Table{N: n, D: d, X: x, Name: name}, true
}

// fastRows parses the lines of b as rows of d finite numbers; false on
// anything else.
func fastRows(b []byte, d int) ([]float64, bool) {
	x := make([]float64, 0, len(b)/8)
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		for j := 0; j < d; j++ {
			cell := line
			if i := bytes.IndexByte(line, ','); i >= 0 {
				cell, line = line[:i], line[i+1:]
			} else {
				if j != d-1 {
					return nil, false
				}
				line = nil
			}
			v, err := parseBytes(bytes.TrimSpace(cell))
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, false
			}
			x = append(x, v)
		}
		if line != nil {
			return nil, false // more values than d
		}
	}
	return x, true
}

// parseBytes is strconv.ParseFloat on a byte slice without copying it into
// a string (a string per value was a third of the fast path's time): the
// string only lives for the call, and its error, which could keep it, is
// dropped by the caller (fastRows answers false and the slow path reports).
func parseBytes(b []byte) (float64, error) {
	if len(b) == 0 {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
}
