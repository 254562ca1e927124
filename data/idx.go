package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// IDX element type codes (the third byte of the magic number).
const (
	IDXUint8   byte = 0x08
	IDXInt8    byte = 0x09
	IDXInt16   byte = 0x0B
	IDXInt32   byte = 0x0C
	IDXFloat32 byte = 0x0D
	IDXFloat64 byte = 0x0E
)

// idxMaxBytes bounds the payload a header may declare (16 GiB): far above
// any IDX data set, low enough that a corrupt header is refused before
// anything is allocated for it.
const idxMaxBytes = 1 << 34

// IDX is an array read from an IDX file: its element type, its sizes
// (slowest first) and its payload as stored (big-endian elements, C order).
type IDX struct {
	Type byte
	Dims []int
	Data []byte
}

func idxSize(typ byte) int {
	switch typ {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

// Len is the number of elements, the product of Dims.
func (x *IDX) Len() int { return len(x.Data) / idxSize(x.Type) }

// Float64s returns the elements converted to float64.
func (x *IDX) Float64s() []float64 {
	n := x.Len()
	out := make([]float64, n)
	b := x.Data
	for i := range out {
		out[i] = idxAt(x.Type, b, i)
	}
	return out
}

func idxAt(typ byte, b []byte, i int) float64 {
	switch typ {
	case IDXUint8:
		return float64(b[i])
	case IDXInt8:
		return float64(int8(b[i]))
	case IDXInt16:
		return float64(int16(binary.BigEndian.Uint16(b[2*i:])))
	case IDXInt32:
		return float64(int32(binary.BigEndian.Uint32(b[4*i:])))
	case IDXFloat32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b[4*i:])))
	case IDXFloat64:
		return math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
	}
	panic(fmt.Sprintf("data: IDX type %#x", typ))
}

// OpenIDX reads the IDX file at path, gzip-compressed or not (see ReadIDX).
func OpenIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openErr(path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fileErr(path, "is a folder, not a file", nil)
	}
	return ReadIDX(f, path)
}

// ReadIDX reads one IDX array from r; name is used in error messages. A
// stream that starts with the gzip magic (1f 8b) is decompressed first, so
// the .gz files of MNIST-style data sets read as they are shipped.
//
// The format: two zero bytes, a type code (IDXUint8 ... IDXFloat64), the
// number of dimensions k >= 1, k sizes as big-endian uint32, then the
// product of the sizes elements, big-endian, in C order. A short file, bytes
// after the payload, a size of 0, an unknown type, a corrupt gzip stream and
// NaN or infinite floats are errors (*FileError naming the file).
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	br := bufio.NewReader(r)
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fileErr(name, "corrupt gzip stream: "+err.Error(), err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileErr(name, "empty file; want an IDX file", err)
		}
		return nil, idxReadErr(name, "the header", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fileErr(name, fmt.Sprintf("not an IDX file (magic %02x %02x %02x %02x does not start with 00 00)", magic[0], magic[1], magic[2], magic[3]), nil)
	}
	typ, k := magic[2], int(magic[3])
	size := idxSize(typ)
	if size == 0 {
		return nil, fileErr(name, fmt.Sprintf("unknown IDX type code %#02x; want 08 (uint8), 09, 0b, 0c, 0d or 0e", typ), nil)
	}
	if k == 0 {
		return nil, fileErr(name, "the header declares 0 dimensions; an IDX array has at least 1", nil)
	}
	hdr := make([]byte, 4*k)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, idxReadErr(name, fmt.Sprintf("the %d sizes of the header", k), err)
	}
	x := &IDX{Type: typ, Dims: make([]int, k)}
	total := int64(size)
	for i := range x.Dims {
		d := int64(binary.BigEndian.Uint32(hdr[4*i:]))
		if d == 0 {
			return nil, fileErr(name, fmt.Sprintf("dimension %d has size 0; the file holds no data", i), nil)
		}
		if total > idxMaxBytes/d {
			return nil, fileErr(name, fmt.Sprintf("sizes %s are too large (more than %d bytes of data)", fmtIDXDims(hdr), int64(idxMaxBytes)), nil)
		}
		total *= d
		x.Dims[i] = int(d)
	}
	// Read what the header promises, letting the buffer grow with what
	// actually arrives: a header that lies costs no more than the file.
	var buf bytes.Buffer
	got, err := io.CopyN(&buf, br, total)
	if err != nil {
		if err == io.EOF {
			return nil, fileErr(name, fmt.Sprintf("truncated: sizes %s need %d bytes of data, the file has %d", fmtIDXDims(hdr), total, got), nil)
		}
		return nil, idxReadErr(name, "the data", err)
	}
	// Nothing may follow the payload; reading on to EOF also checks the
	// gzip checksum.
	extra, err := io.Copy(io.Discard, br)
	if err != nil {
		return nil, idxReadErr(name, "the end of the data", err)
	}
	if extra > 0 {
		return nil, fileErr(name, fmt.Sprintf("%d bytes after the data that sizes %s declare; the header does not match the file", extra, fmtIDXDims(hdr)), nil)
	}
	x.Data = buf.Bytes()
	if typ == IDXFloat32 || typ == IDXFloat64 {
		for i := range x.Len() {
			if v := idxAt(typ, x.Data, i); math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fileErr(name, fmt.Sprintf("element %d is %s; remove or impute non-finite values", i, nonFinite(v)), nil)
			}
		}
	}
	return x, nil
}

func idxReadErr(name, what string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fileErr(name, "truncated: the file ends inside "+what, err)
	}
	return fileErr(name, "reading "+what+": "+err.Error(), err)
}

func fmtIDXDims(hdr []byte) string {
	s := make([]string, len(hdr)/4)
	for i := range s {
		s[i] = fmt.Sprint(binary.BigEndian.Uint32(hdr[4*i:]))
	}
	return "(" + strings.Join(s, ", ") + ")"
}
