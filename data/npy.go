package data

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio"
)

// npyMagic opens every NPY file.
const npyMagic = "\x93NUMPY"

// npyHeader returns an NPY format version 1.0 header: the magic string, the
// version bytes 1 0, a little-endian uint16 header length, and a Python dict
// literal padded with spaces and ended by '\n' so that the data starts at a
// multiple of 64 bytes (as numpy writes it).
func npyHeader(descr string, fortran bool, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	order := "False"
	if fortran {
		order = "True"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr, order, sh)
	const pre = len(npyMagic) + 2 + 2
	total := pre + len(dict) + 1
	total = (total + 63) / 64 * 64
	hlen := total - pre
	if hlen > math.MaxUint16 {
		panic("data: NPY header too long for format 1.0")
	}
	b := make([]byte, 0, total)
	b = append(b, npyMagic...)
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(hlen))
	b = append(b, dict...)
	for len(b) < total-1 {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// NPYWriter streams an n x d float64 array ('<f8', C order) in NPY format
// 1.0. The header carries the shape, so n is fixed up front; rows are
// written as they come, with bounded memory.
type NPYWriter struct {
	w       *bufio.Writer
	n, d    int
	rows    int
	started bool
	buf     []byte
	err     error
}

// NewNPYWriter returns a writer of an n x d float64 array. It panics if n < 0
// or d <= 0.
func NewNPYWriter(w io.Writer, n, d int) *NPYWriter {
	if n < 0 || d <= 0 {
		panic(fmt.Sprintf("data: NewNPYWriter(n=%d, d=%d): need n >= 0 and d > 0", n, d))
	}
	return &NPYWriter{w: bufio.NewWriterSize(w, 1<<16), n: n, d: d}
}

func (p *NPYWriter) start() {
	p.started = true
	_, p.err = p.w.Write(npyHeader("<f8", false, []int{p.n, p.d}))
}

// WriteRows writes the rows of x (len(x)/d rows, row-major). It panics if
// len(x) is not a multiple of d, and returns an error if the rows would
// exceed the n declared in the header. After the first error every call
// returns it.
func (p *NPYWriter) WriteRows(x []float64) error {
	if len(x)%p.d != 0 {
		panic(fmt.Sprintf("data: NPYWriter.WriteRows: %d values is not a whole number of %d-column rows", len(x), p.d))
	}
	if p.err != nil {
		return p.err
	}
	if !p.started {
		if p.start(); p.err != nil {
			return p.err
		}
	}
	m := len(x) / p.d
	if p.rows+m > p.n {
		p.err = fmt.Errorf("data: NPYWriter: writing %d more rows after %d exceeds the %d rows declared in the header", m, p.rows, p.n)
		return p.err
	}
	const block = 512 // values per conversion block
	for len(x) > 0 {
		k := min(len(x), block)
		b := p.buf[:0]
		for _, v := range x[:k] {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		p.buf = b
		if _, err := p.w.Write(b); err != nil {
			p.err = err
			return err
		}
		x = x[k:]
	}
	p.rows += m
	return nil
}

// Rows returns the number of rows written so far.
func (p *NPYWriter) Rows() int { return p.rows }

// Flush writes the header (if not yet written) and any buffered rows to the
// underlying writer.
func (p *NPYWriter) Flush() error {
	if p.err != nil {
		return p.err
	}
	if !p.started {
		if p.start(); p.err != nil {
			return p.err
		}
	}
	if err := p.w.Flush(); err != nil {
		p.err = err
	}
	return p.err
}

// Close flushes and checks that exactly the n rows declared in the header
// were written (a short file would not load). It does not close the
// underlying writer.
func (p *NPYWriter) Close() error {
	if err := p.Flush(); err != nil {
		return err
	}
	if p.rows != p.n {
		p.err = fmt.Errorf("data: NPYWriter: %d rows written, the header declares %d", p.rows, p.n)
	}
	return p.err
}

// WriteNPY writes t as an n x D float64 NPY array (format 1.0, '<f8',
// C order).
func WriteNPY(w io.Writer, t *Table) error {
	p := NewNPYWriter(w, t.N, t.D)
	if err := p.WriteRows(t.X[:t.N*t.D]); err != nil {
		return err
	}
	return p.Close()
}

// ReadNPY reads an NPY array into a table; name is used in error messages.
// Accepted: element types float64, float32 and (u)int8/16/32/64 in either
// byte order (converted to float64), shapes (n, D) in C or Fortran order and
// (n,) as an n x 1 table. The data must be exactly the size the header
// declares, and every value finite.
func ReadNPY(r io.Reader, name string) (*Table, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fileErr(name, "read failed: "+err.Error(), err)
	}
	return parseNPY(raw, name)
}

var npyTypes = map[reflect.Kind]bool{
	reflect.Float64: true, reflect.Float32: true,
	reflect.Int8: true, reflect.Int16: true, reflect.Int32: true, reflect.Int64: true,
	reflect.Uint8: true, reflect.Uint16: true, reflect.Uint32: true, reflect.Uint64: true,
}

func parseNPY(raw []byte, name string) (t *Table, err error) {
	if len(raw) == 0 {
		return nil, fileErr(name, "empty file", nil)
	}
	if !bytes.HasPrefix(raw, []byte(npyMagic)) {
		return nil, fileErr(name, "not an NPY file (it does not start with \\x93NUMPY)", npyio.ErrInvalidNumPyFormat)
	}
	// npyio slices the header dict by position and can panic on a malformed
	// one; report that as a bad file.
	defer func() {
		if e := recover(); e != nil {
			t, err = nil, fileErr(name, fmt.Sprintf("malformed NPY header (%v)", e), nil)
		}
	}()
	br := bytes.NewReader(raw)
	rd, err := npyio.NewReader(br)
	if err != nil {
		return nil, fileErr(name, "malformed NPY header: "+err.Error(), err)
	}
	h := rd.Header.Descr
	shape := h.Shape
	var n, d int
	switch len(shape) {
	case 1:
		n, d = shape[0], 1
	case 2:
		n, d = shape[0], shape[1]
	default:
		return nil, fileErr(name, fmt.Sprintf("shape %s has %d dimensions; want (n, D) or (n,)", fmtShape(shape), len(shape)), nil)
	}
	if n < 0 || d < 0 {
		return nil, fileErr(name, fmt.Sprintf("malformed NPY header: negative shape %s", fmtShape(shape)), nil)
	}
	dtype := strings.Trim(h.Type, `'" `)
	rt := typeFrom(h.Type)
	if rt == nil || !npyTypes[rt.Kind()] {
		return nil, fileErr(name, fmt.Sprintf("dtype '%s' is not supported; want float64 ('<f8'), float32 ('<f4') or an integer type", dtype), nil)
	}
	if d == 0 {
		return nil, fileErr(name, fmt.Sprintf("shape %s has no columns", fmtShape(shape)), nil)
	}
	if n == 0 {
		return nil, fileErr(name, fmt.Sprintf("shape %s has no rows", fmtShape(shape)), nil)
	}
	esize := int(rt.Size())
	if n > math.MaxInt/d/esize {
		return nil, fileErr(name, fmt.Sprintf("shape %s is too large", fmtShape(shape)), nil)
	}
	if want := n * d * esize; br.Len() != want {
		return nil, fileErr(name, fmt.Sprintf("shape %s of %s needs %d bytes of data, the file holds %d after the header (truncated or corrupt?)",
			fmtShape(shape), dtype, want, br.Len()), nil)
	}
	var x []float64
	switch rt.Kind() {
	case reflect.Float64:
		err = rd.Read(&x)
	case reflect.Float32:
		x, err = readConv[float32](rd)
	case reflect.Int8:
		x, err = readConv[int8](rd)
	case reflect.Int16:
		x, err = readConv[int16](rd)
	case reflect.Int32:
		x, err = readConv[int32](rd)
	case reflect.Int64:
		x, err = readConv[int64](rd)
	case reflect.Uint8:
		x, err = readConv[uint8](rd)
	case reflect.Uint16:
		x, err = readConv[uint16](rd)
	case reflect.Uint32:
		x, err = readConv[uint32](rd)
	case reflect.Uint64:
		x, err = readConv[uint64](rd)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fileErr(name, "reading NPY data: "+err.Error(), err)
	}
	if len(x) != n*d {
		return nil, fileErr(name, fmt.Sprintf("read %d values, the header declares %d", len(x), n*d), nil)
	}
	if h.Fortran && d > 1 {
		y := make([]float64, len(x))
		for j := range d {
			for i := range n {
				y[i*d+j] = x[j*n+i]
			}
		}
		x = y
	}
	for k, v := range x {
		if s := nonFinite(v); s != "" {
			return nil, elemErr(name, k/d, k%d, s+nonFiniteHint)
		}
	}
	return &Table{N: n, D: d, X: x, Name: name}, nil
}

// typeFrom is npyio.TypeFrom, with nil for a dtype it cannot parse.
func typeFrom(dtype string) (rt reflect.Type) {
	defer func() {
		if recover() != nil {
			rt = nil
		}
	}()
	return npyio.TypeFrom(dtype)
}

type npyNumber interface {
	float32 | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64
}

func readConv[T npyNumber](rd *npyio.Reader) ([]float64, error) {
	var v []T
	if err := rd.Read(&v); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	x := make([]float64, len(v))
	for i, e := range v {
		x[i] = float64(e)
	}
	return x, nil
}

func fmtShape(shape []int) string {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	if len(shape) == 1 {
		return "(" + dims[0] + ",)"
	}
	return "(" + strings.Join(dims, ", ") + ")"
}
