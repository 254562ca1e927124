package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/google/go-cmp/cmp"
)

// specialValues are values whose text or binary form is easy to get wrong.
var specialValues = []float64{
	0.1, math.Copysign(0, -1), 0, 1e-300, -1e-300, 5e-324, -5e-324, math.SmallestNonzeroFloat64 * 3,
	math.MaxFloat64, -math.MaxFloat64, 1.0 / 3, math.Pi, 1e300, -2.5, 123456789.123456789,
	2.2250738585072014e-308, // smallest normal
	2.2250738585072009e-308, // largest subnormal
	0.30000000000000004, 1e21, 1e-7, 9007199254740993,
}

// roundTripTable holds the special values and random bit patterns (every
// finite float64 is equally likely to go wrong, so draw raw bits).
func roundTripTable() *Table {
	const d = 3
	r := rand.New(rand.NewPCG(1, 2))
	x := append([]float64(nil), specialValues...)
	for len(x) < 300 || len(x)%d != 0 {
		v := math.Float64frombits(r.Uint64())
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			x = append(x, v)
		}
	}
	return &Table{N: len(x) / d, D: d, X: x}
}

// sameBits compares bit patterns, so -0 differs from 0 (tolerance: none).
func sameBits(t *testing.T, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len %d, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Fatalf("value %d: got %v (%#x), want %v (%#x)", i, got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
		}
	}
}

func TestRoundTripBitExact(t *testing.T) {
	dir := t.TempDir()
	want := roundTripTable()
	for _, name := range []string{"t.csv", "t.npy", "T.CSV", "T.NPY"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := Save(path, want); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got.N != want.N || got.D != want.D || got.Name != path {
				t.Fatalf("got %d x %d %q, want %d x %d %q", got.N, got.D, got.Name, want.N, want.D, path)
			}
			sameBits(t, got.X, want.X)
		})
	}
}

func TestCSVFormat(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, &Table{N: 2, D: 2, X: []float64{0.1, math.Copysign(0, -1), 1e-300, 3}}); err != nil {
		t.Fatal(err)
	}
	want := "x0,x1\n0.10000000000000001,-0\n1e-300,3\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestReadCSVAccepts(t *testing.T) {
	tests := []struct {
		name, in string
		want     *Table
	}{
		{"header", "x0,x1\n1,2\n3,4\n", &Table{N: 2, D: 2, X: []float64{1, 2, 3, 4}}},
		{"no header", "1,2\n3,4\n", &Table{N: 2, D: 2, X: []float64{1, 2, 3, 4}}},
		{"named header", "a,b,c\n1,2,3\n", &Table{N: 1, D: 3, X: []float64{1, 2, 3}}},
		{"crlf spaces bom", "\ufeffx, y\r\n 1 , 2\r\n3,4e1\r\n", &Table{N: 2, D: 2, X: []float64{1, 2, 3, 40}}},
		{"comments blank lines", "# from numpy.savetxt\n\n1\n\n2\n", &Table{N: 2, D: 1, X: []float64{1, 2}}},
		{"no final newline", "1,2", &Table{N: 1, D: 2, X: []float64{1, 2}}},
		{"quoted", "\"x0\",\"x1\"\n\"1\",2\n", &Table{N: 1, D: 2, X: []float64{1, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadCSV(strings.NewReader(tc.in), "in.csv")
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Name = "in.csv"
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// writeFile writes content to name in the current (temporary) folder.
func writeFile(t *testing.T, name string, content []byte) {
	t.Helper()
	if err := os.WriteFile(name, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

func npyBytes(descr string, fortran bool, shape []int, data any) []byte {
	var b bytes.Buffer
	b.Write(npyHeader(descr, fortran, shape))
	order := binary.ByteOrder(binary.LittleEndian)
	if strings.HasPrefix(descr, ">") {
		order = binary.BigEndian
	}
	if err := binary.Write(&b, order, data); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func TestLoadErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("folder.csv", 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string // file content; "-" means no file
		want    string
	}{
		{"missing.csv", "-", "data: missing.csv: no such file"},
		{"missing.npy", "-", "data: missing.npy: no such file"},
		{"folder.csv", "-", "data: folder.csv: is a folder, not a file"},
		{"points.txt", "1,2\n", `data: points.txt: unknown extension ".txt"; use .csv or .npy`},
		{"points", "1,2\n", "data: points: no file extension; use .csv or .npy"},
		{"empty.csv", "", "data: empty.csv: empty file (no data rows)"},
		{"blank.csv", "\n\n# nothing\n", "data: blank.csv: empty file (no data rows)"},
		{"header.csv", "x0,x1\n", "data: header.csv: a header row but no data rows"},
		{"points.csv", "x0,x1\n1,2\n3,4\n5,6\n7,8\n9,10\n1,2,3\n",
			"data: points.csv line 7: 3 values, want 2 (rows must all have the same length)"},
		{"short.csv", "x0,x1,x2\n1,2\n", "data: short.csv line 2: 2 values, want 3 (rows must all have the same length)"},
		{"blanklines.csv", "1,2\n\n# c\n3\n", "data: blanklines.csv line 4: 1 values, want 2 (rows must all have the same length)"},
		{"nan.csv", "x0,x1\n1,2\n3,4\n5,NaN\n", "data: nan.csv line 4 column 2: NaN; remove or impute non-finite values"},
		{"inf.csv", "1,2\n-inf,4\n", "data: inf.csv line 2 column 1: -Inf; remove or impute non-finite values"},
		{"pinf.csv", "1,+Inf\n", "data: pinf.csv line 1 column 2: +Inf; remove or impute non-finite values"},
		{"text.csv", "x0,x1\n1,abc\n", `data: text.csv line 2 column 2: "abc" is not a number`},
		{"firstrow.csv", "1,abc\n", `data: firstrow.csv line 1 column 2: "abc" is not a number`},
		{"blankcell.csv", "1,2\n3,\n", "data: blankcell.csv line 2 column 2: empty value"},
		{"huge.csv", "1,1e999\n", `data: huge.csv line 1 column 2: "1e999" is beyond the float64 range`},
		{"quote.csv", "1,2\n3,\"4\n", `data: quote.csv line 2: extraneous or missing " in quoted-field (is this a CSV file?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.content != "-" {
				writeFile(t, tc.name, []byte(tc.content))
			}
			_, err := Load(tc.name)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n got: %s\nwant: %s", err, tc.want)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != tc.name {
				t.Fatalf("not a *FileError naming %q: %#v", tc.name, err)
			}
		})
	}
	if _, err := Load("missing.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestLoadNPYErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	f8 := func(shape []int, x []float64) []byte { return npyBytes("<f8", false, shape, x) }
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"empty.npy", nil, "data: empty.npy: empty file"},
		{"text.npy", []byte("x0,x1\n1,2\n"), `data: text.npy: not an NPY file (it does not start with \x93NUMPY)`},
		{"short.npy", f8([]int{3, 2}, []float64{1, 2, 3, 4, 5}),
			"data: short.npy: shape (3, 2) of <f8 needs 48 bytes of data, the file holds 40 after the header (truncated or corrupt?)"},
		{"long.npy", f8([]int{2, 2}, []float64{1, 2, 3, 4, 5}),
			"data: long.npy: shape (2, 2) of <f8 needs 32 bytes of data, the file holds 40 after the header (truncated or corrupt?)"},
		{"cube.npy", f8([]int{1, 2, 2}, []float64{1, 2, 3, 4}),
			"data: cube.npy: shape (1, 2, 2) has 3 dimensions; want (n, D) or (n,)"},
		{"scalar.npy", f8([]int{}, []float64{1}), "data: scalar.npy: shape () has 0 dimensions; want (n, D) or (n,)"},
		{"norows.npy", f8([]int{0, 2}, []float64{}), "data: norows.npy: shape (0, 2) has no rows"},
		{"nocols.npy", f8([]int{2, 0}, []float64{}), "data: nocols.npy: shape (2, 0) has no columns"},
		{"complex.npy", npyBytes("<c16", false, []int{1, 1}, []float64{1, 2}),
			"data: complex.npy: dtype '<c16' is not supported; want float64 ('<f8'), float32 ('<f4') or an integer type"},
		{"nan.npy", f8([]int{2, 2}, []float64{1, 2, math.NaN(), 4}),
			"data: nan.npy element [1, 0]: NaN; remove or impute non-finite values"},
		{"inf32.npy", npyBytes("<f4", false, []int{3}, []float32{1, 2, float32(math.Inf(1))}),
			"data: inf32.npy element [2, 0]: +Inf; remove or impute non-finite values"},
		{"badheader.npy", append([]byte("\x93NUMPY\x01\x00\x0a\x00{'a': 1}\n"), make([]byte, 8)...),
			"data: badheader.npy: malformed NPY header: npy: invalid dictionary format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, tc.name, tc.content)
			_, err := Load(tc.name)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n got: %s\nwant: %s", err, tc.want)
			}
		})
	}
}

func TestReadNPYVariants(t *testing.T) {
	var npyioSlice bytes.Buffer // written by npyio itself: 1-D
	if err := npyio.Write(&npyioSlice, []float64{1.5, -2, 0.1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want *Table
	}{
		{"float32 2-D", npyBytes("<f4", false, []int{2, 2}, []float32{0.1, 2, 3, -4}),
			&Table{N: 2, D: 2, X: []float64{float64(float32(0.1)), 2, 3, -4}}},
		{"1-D float64", npyBytes("<f8", false, []int{3}, []float64{1, 2, 3}), &Table{N: 3, D: 1, X: []float64{1, 2, 3}}},
		{"npyio 1-D", npyioSlice.Bytes(), &Table{N: 3, D: 1, X: []float64{1.5, -2, 0.1}}},
		{"fortran", npyBytes("<f8", true, []int{2, 3}, []float64{1, 4, 2, 5, 3, 6}),
			&Table{N: 2, D: 3, X: []float64{1, 2, 3, 4, 5, 6}}},
		{"big endian", npyBytes(">f8", false, []int{1, 2}, []float64{0.1, -7}), &Table{N: 1, D: 2, X: []float64{0.1, -7}}},
		{"int64", npyBytes("<i8", false, []int{1, 2}, []int64{-3, 1 << 40}), &Table{N: 1, D: 2, X: []float64{-3, 1 << 40}}},
		{"uint8", npyBytes("|u1", false, []int{2, 1}, []uint8{0, 255}), &Table{N: 2, D: 1, X: []float64{0, 255}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadNPY(bytes.NewReader(tc.in), "in.npy")
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Name = "in.npy"
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNPYWriter(t *testing.T) {
	want := roundTripTable()
	var b bytes.Buffer
	w := NewNPYWriter(&b, want.N, want.D)
	// Uneven blocks, as a sampler finishing rows at its own pace would give.
	for i := 0; i < want.N; {
		k := min(1+i%7, want.N-i)
		if err := w.WriteRows(want.X[i*want.D : (i+k)*want.D]); err != nil {
			t.Fatal(err)
		}
		i += k
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	if !bytes.HasPrefix(raw, []byte("\x93NUMPY\x01\x00")) {
		t.Fatalf("header starts %q, want NPY version 1.0", raw[:8])
	}
	hlen := int(binary.LittleEndian.Uint16(raw[8:10]))
	if (10+hlen)%64 != 0 || raw[10+hlen-1] != '\n' {
		t.Fatalf("header of %d bytes: data not 64-byte aligned or no final newline", 10+hlen)
	}
	// Read back with npyio's own reader.
	r, err := npyio.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Descr; strings.Trim(got.Type, "'") != "<f8" || got.Fortran || !cmp.Equal(got.Shape, []int{want.N, want.D}) {
		t.Fatalf("header %v", r.Header)
	}
	var x []float64
	if err := r.Read(&x); err != nil {
		t.Fatal(err)
	}
	sameBits(t, x, want.X)

	t.Run("too many rows", func(t *testing.T) {
		w := NewNPYWriter(&bytes.Buffer{}, 2, 2)
		w.WriteRows([]float64{1, 2, 3, 4})
		err := w.WriteRows([]float64{5, 6})
		const msg = "data: NPYWriter: writing 1 more rows after 2 exceeds the 2 rows declared in the header"
		if err == nil || err.Error() != msg {
			t.Fatalf("got %v, want %s", err, msg)
		}
	})
	t.Run("too few rows", func(t *testing.T) {
		w := NewNPYWriter(&bytes.Buffer{}, 3, 2)
		w.WriteRows([]float64{1, 2})
		err := w.Close()
		const msg = "data: NPYWriter: 1 rows written, the header declares 3"
		if err == nil || err.Error() != msg {
			t.Fatalf("got %v, want %s", err, msg)
		}
	})
}

func TestCSVWriterBlocks(t *testing.T) {
	tab := roundTripTable()
	var whole, blocks bytes.Buffer
	if err := WriteCSV(&whole, tab); err != nil {
		t.Fatal(err)
	}
	w := NewCSVWriter(&blocks, tab.D)
	for i := 0; i < tab.N; i += 10 {
		if err := w.WriteRows(tab.X[i*tab.D : min(i+10, tab.N)*tab.D]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if whole.String() != blocks.String() || w.Rows() != tab.N {
		t.Fatal("block-wise CSV differs from WriteCSV")
	}
	var named bytes.Buffer
	nw := NewCSVWriterNames(&named, []string{"logp", "bpd", `a,"b"`})
	nw.WriteRows([]float64{-1.5, 2, 3})
	nw.Flush()
	if want := "logp,bpd,\"a,\"\"b\"\"\"\n-1.5,2,3\n"; named.String() != want {
		t.Fatalf("got %q, want %q", named.String(), want)
	}
}

func TestCreateTable(t *testing.T) {
	dir := t.TempDir()
	tab := roundTripTable()
	for _, ext := range []string{".csv", ".npy"} {
		t.Run(ext, func(t *testing.T) {
			path := filepath.Join(dir, "out"+ext)
			f, err := CreateTable(path, tab.N, tab.D)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tab.N; i += 16 {
				if err := f.WriteRows(tab.X[i*tab.D : min(i+16, tab.N)*tab.D]); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Fatal("final file visible before Commit")
			}
			if err := f.Commit(); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, got.X, tab.X)
		})
	}
	t.Run("short npy", func(t *testing.T) {
		sub := t.TempDir()
		path := filepath.Join(sub, "short.npy")
		f, err := CreateTable(path, 5, 2)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteRows([]float64{1, 2})
		err = f.Commit()
		want := "data: " + path + ": write failed: NPYWriter: 1 rows written, the header declares 5"
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %s", err, want)
		}
		assertEmptyDir(t, sub)
	})
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

func TestAtomicFile(t *testing.T) {
	t.Run("abort leaves nothing", func(t *testing.T) {
		dir := t.TempDir()
		f, err := CreateAtomic(filepath.Join(dir, "out.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("partial")); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(filepath.Base(f.TempName()), ".out.csv.tmp-") || filepath.Dir(f.TempName()) != dir {
			t.Fatalf("temporary file %s not .out.csv.tmp-* in %s", f.TempName(), dir)
		}
		if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		assertEmptyDir(t, dir)
		if err := f.Abort(); err != nil {
			t.Fatalf("second Abort: %v", err)
		}
		if err := f.Commit(); err == nil {
			t.Fatal("Commit after Abort succeeded")
		}
		assertEmptyDir(t, dir)
	})
	t.Run("commit replaces", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.csv")
		writeFile(t, path, []byte("old"))
		f, err := CreateAtomic(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("new"))
		if b, _ := os.ReadFile(path); string(b) != "old" {
			t.Fatalf("before Commit the file holds %q, want old", b)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := f.Abort(); err != nil { // deferred Abort after Commit: no-op
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != "new" {
			t.Fatalf("after Commit the file holds %q, want new", b)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("%d entries in folder, want 1", len(ents))
		}
	})
	t.Run("missing folder", func(t *testing.T) {
		t.Chdir(t.TempDir())
		_, err := CreateAtomic(filepath.Join("runs", "x", "out.npy"))
		want := "data: runs/x/out.npy: cannot create: folder runs/x does not exist (create it first)"
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %s", err, want)
		}
		err = Save("nodir/out.csv", &Table{N: 1, D: 1, X: []float64{1}})
		want = "data: nodir/out.csv: cannot create: folder nodir does not exist (create it first)"
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %s", err, want)
		}
	})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		t    *Table
		dim  int
		want string // "" for no error
	}{
		{"ok", &Table{N: 2, D: 2, X: []float64{1, 2, 3, 4}}, 2, ""},
		{"any dim", &Table{N: 1, D: 3, X: []float64{1, 2, 3}}, 0, ""},
		{"wrong dim", &Table{N: 1, D: 3, X: []float64{1, 2, 3}, Name: "points.csv"}, 2,
			"data: points.csv: 3 columns, want 2 (the dimension of the model or score)"},
		{"no rows", &Table{N: 0, D: 2, Name: "p.npy"}, 2, "data: p.npy: no rows"},
		{"short X", &Table{N: 2, D: 2, X: []float64{1}}, 2, "data: table: holds 1 values, want N*D = 2*2 = 4"},
		{"nan", &Table{N: 2, D: 2, X: []float64{1, 2, 3, math.NaN()}, Name: "m"}, 2,
			"data: m element [1, 1]: NaN; remove or impute non-finite values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.t, tc.dim)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckRange(t *testing.T) {
	tab := &Table{N: 2, D: 2, X: []float64{-1, 1, 0.5, 1.5}, Name: "points.csv"}
	err := CheckRange(tab, -1, 1)
	want := "data: points.csv element [1, 1]: value 1.5 outside the declared data range [-1, 1]; rescale the data or declare its true range"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if err := CheckRange(tab, -1, 1.5); err != nil {
		t.Fatalf("closed range [lo, hi] rejected an end point: %v", err)
	}
	tab.X[0] = math.NaN()
	if err := CheckRange(tab, -10, 10); err == nil {
		t.Fatal("NaN passed the range check")
	}
}

// BenchmarkSave1e6 writes and reads back a 10^6 x 2 table (the size of a
// large sampling run); target well under a second per format.
func BenchmarkSave1e6(b *testing.B) {
	const n, d = 1000000, 2
	tab := NewTable(n, d)
	GMM8{}.Sample(tab.X, n, rand.New(rand.NewPCG(1, 1)))
	dir := b.TempDir()
	for _, ext := range []string{".csv", ".npy"} {
		b.Run("save"+ext, func(b *testing.B) {
			for b.Loop() {
				if err := Save(filepath.Join(dir, "x"+ext), tab); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("load"+ext, func(b *testing.B) {
			for b.Loop() {
				if _, err := Load(filepath.Join(dir, "x"+ext)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
