package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes writes an IDX file by hand from its definition (LeCun et al.):
// two zero bytes, the type code, the number of dimensions, each size as a
// big-endian uint32, then the payload.
func idxBytes(typ byte, dims []uint32, payload []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, payload...)
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadIDXTypes(t *testing.T) {
	f32 := binary.BigEndian.AppendUint32(nil, math.Float32bits(-1.5))
	f32 = binary.BigEndian.AppendUint32(f32, math.Float32bits(0.25))
	f64 := binary.BigEndian.AppendUint64(nil, math.Float64bits(1e-300))
	for _, c := range []struct {
		name    string
		typ     byte
		dims    []uint32
		payload []byte
		want    []float64
	}{
		{"uint8 2x3", IDXUint8, []uint32{2, 3}, []byte{0, 1, 2, 253, 254, 255}, []float64{0, 1, 2, 253, 254, 255}},
		{"int8", IDXInt8, []uint32{3}, []byte{0x7f, 0x80, 0xff}, []float64{127, -128, -1}},
		{"int16 big-endian", IDXInt16, []uint32{2}, []byte{0x01, 0x02, 0xff, 0xfe}, []float64{258, -2}},
		{"int32 big-endian", IDXInt32, []uint32{1, 1}, []byte{0x80, 0, 0, 0}, []float64{math.MinInt32}},
		{"float32", IDXFloat32, []uint32{2}, f32, []float64{-1.5, 0.25}},
		{"float64", IDXFloat64, []uint32{1}, f64, []float64{1e-300}},
	} {
		raw := idxBytes(c.typ, c.dims, c.payload)
		for _, z := range []bool{false, true} {
			b := raw
			if z {
				b = gzipped(t, raw)
			}
			x, err := ReadIDX(bytes.NewReader(b), "t.idx")
			if err != nil {
				t.Fatalf("%s (gzip %v): %v", c.name, z, err)
			}
			if x.Type != c.typ || len(x.Dims) != len(c.dims) || x.Len() != len(c.want) {
				t.Fatalf("%s: type %#x dims %v len %d", c.name, x.Type, x.Dims, x.Len())
			}
			for i, d := range c.dims {
				if x.Dims[i] != int(d) {
					t.Fatalf("%s: dims %v, want %v", c.name, x.Dims, c.dims)
				}
			}
			if got := x.Float64s(); !slices.Equal(got, c.want) {
				t.Fatalf("%s (gzip %v): values %v, want %v", c.name, z, got, c.want)
			}
		}
	}
}

func TestReadIDXRejects(t *testing.T) {
	good := idxBytes(IDXUint8, []uint32{2, 2}, []byte{1, 2, 3, 4})
	nan := idxBytes(IDXFloat32, []uint32{1}, binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN()))))
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"short header", good[:3], "truncated"},
		{"truncated sizes", good[:6], "truncated"},
		{"truncated data", good[:len(good)-1], "truncated"},
		{"truncated gzip", gzipped(t, good)[:20], "truncated"},
		{"extra bytes", append(append([]byte(nil), good...), 9), "after the"},
		{"wrong magic", append([]byte{1}, good[1:]...), "not an IDX file"},
		{"unknown type", idxBytes(0x0A, []uint32{1}, []byte{0}), "type code"},
		{"no dimensions", idxBytes(IDXUint8, nil, nil), "dimensions"},
		{"zero size", idxBytes(IDXUint8, []uint32{3, 0}, nil), "size 0"},
		{"huge sizes", idxBytes(IDXFloat64, []uint32{1 << 31, 1 << 31, 1 << 31}, nil), "too large"},
		{"NaN", nan, "NaN"},
	} {
		_, err := ReadIDX(bytes.NewReader(c.b), "bad.idx")
		if err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "bad.idx") || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: error %q, want a *FileError naming bad.idx and saying %q", c.name, err, c.want)
		}
	}
}

func TestOpenIDX(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x-idx1-ubyte.gz")
	if err := os.WriteFile(p, gzipped(t, idxBytes(IDXUint8, []uint32{3}, []byte{7, 8, 9})), 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := OpenIDX(p)
	if err != nil || !slices.Equal(x.Data, []byte{7, 8, 9}) {
		t.Fatalf("OpenIDX: %v %v", x, err)
	}
	if _, err := OpenIDX(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}
