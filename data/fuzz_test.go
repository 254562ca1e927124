package data

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

// The readers take any bytes: they return a table or an error, never panic,
// and a table they return is whole and finite (non-finite values are an
// error, not data). go test runs the seeds; CI fuzzes each briefly:
//
//	go test -run '^$' -fuzz '^FuzzReadCSV$' -fuzztime 10s ./data
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"x0,x1\n1,2\n3,4\n", "1,2\n", "a\n", "x0\n1e308\n-1e-308\n", "x0,x1\n1,2\n3\n",
		"x0,x1\n1,NaN\n", "\"x0\",\"x1\"\n1,2\n", "x0,x1\r\n1,2\r\n", "", "\n\n", "x0,x1\n1,2,3\n", "x0\n0x1p-3\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := ReadCSV(bytes.NewReader(b), "fuzz.csv")
		// The fast path must agree with encoding/csv wherever it answers.
		if ft, ok := fastCSV(b, "fuzz.csv"); ok {
			st, serr := readCSV(bytes.NewReader(b), "fuzz.csv")
			if serr != nil {
				t.Fatalf("the fast path read %d x %d values that encoding/csv refuses: %v", ft.N, ft.D, serr)
			}
			if st.N != ft.N || st.D != ft.D || !slices.Equal(st.X, ft.X) {
				t.Fatalf("fast path %d x %d, encoding/csv %d x %d", ft.N, ft.D, st.N, st.D)
			}
		}
		if err != nil {
			return
		}
		checkTable(t, tab)
	})
}

// FuzzReadNPY: as FuzzReadCSV, for the NPY reader (seeds: files written by
// NewNPYWriter, then bytes of them changed and cut).
func FuzzReadNPY(f *testing.F) {
	var buf bytes.Buffer
	w := NewNPYWriter(&buf, 2, 3)
	if err := w.WriteRows([]float64{1, 2, 3, 4, 5, 6}); err != nil || w.Close() != nil {
		f.Fatal("writing the seed")
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good[:10])
	f.Add([]byte{})
	bad := append([]byte(nil), good...)
	bad[8] ^= 0xff
	f.Add(bad)
	// A header that promises 8e14 bytes it does not have: an error, not an
	// allocation.
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 1000), }"
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	huge := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)+1), byte((len(hdr)+1)>>8))
	f.Add(append(append(huge, hdr...), '\n'))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := ReadNPY(bytes.NewReader(b), "fuzz.npy")
		if err != nil {
			return
		}
		checkTable(t, tab)
	})
}

func checkTable(t *testing.T, tab *Table) {
	t.Helper()
	if tab.N < 0 || tab.D < 1 || len(tab.X) != tab.N*tab.D {
		t.Fatalf("table %d x %d with %d values", tab.N, tab.D, len(tab.X))
	}
	for i, v := range tab.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("value %d is %v: a reader must refuse non-finite data", i, v)
		}
	}
}

// FuzzReadIDX: the IDX reader takes any bytes, plain or gzip, and returns an
// error or an array whose payload is exactly what its sizes and type
// declare, with finite values (seeds: small files of each type, cut,
// extended and compressed).
func FuzzReadIDX(f *testing.F) {
	good := idxBytes(IDXUint8, []uint32{2, 3}, []byte{0, 1, 2, 3, 4, 5})
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(append([]byte(nil), good...), 0))
	f.Add(gzipped(f, good))
	f.Add(idxBytes(IDXFloat64, []uint32{1}, []byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 0}))
	f.Add(idxBytes(IDXInt16, []uint32{1, 1, 1}, []byte{0x80, 0}))
	f.Add(idxBytes(IDXFloat32, []uint32{1 << 30, 1 << 30}, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadIDX(bytes.NewReader(b), "fuzz.idx")
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Dims {
			if d < 1 {
				t.Fatalf("dims %v", x.Dims)
			}
			n *= d
		}
		if len(x.Dims) == 0 || x.Len() != n || len(x.Data) != n*idxSize(x.Type) {
			t.Fatalf("dims %v, type %#x, %d payload bytes", x.Dims, x.Type, len(x.Data))
		}
		for i, v := range x.Float64s() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("element %d is %v", i, v)
			}
		}
	})
}
