package data

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFashion writes a small Fashion-MNIST-shaped folder: n images of h x w
// whose pixel j of image i is (i*7 + j) mod 256, and labels i mod 10.
func writeFashion(t *testing.T, dir, prefix string, n, h, w int, gz bool) (pix []byte, labels []int) {
	t.Helper()
	pix = make([]byte, n*h*w)
	for i := range n {
		for j := range h * w {
			pix[i*h*w+j] = byte((i*7 + j) % 256)
		}
	}
	lab := make([]byte, n)
	for i := range lab {
		lab[i] = byte(i % 10)
		labels = append(labels, i%10)
	}
	write := func(name string, b []byte) {
		if gz {
			b, name = gzipped(t, b), name+".gz"
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(prefix+"-images-idx3-ubyte", idxBytes(IDXUint8, []uint32{uint32(n), uint32(h), uint32(w)}, pix))
	write(prefix+"-labels-idx1-ubyte", idxBytes(IDXUint8, []uint32{uint32(n)}, lab))
	return pix, labels
}

func TestLoadFashionMNIST(t *testing.T) {
	dir := t.TempDir()
	pix, labels := writeFashion(t, dir, "train", 12, 3, 4, true)
	tpix, _ := writeFashion(t, dir, "t10k", 5, 3, 4, false) // plain files are read too
	m, err := LoadFashionMNIST(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "fashion-mnist" || m.N != 12 || m.C != 1 || m.H != 3 || m.W != 4 || !slices.Equal(m.Pix, pix) || !slices.Equal(m.Labels, labels) {
		t.Fatalf("train set %+v", m)
	}
	mt, err := LoadFashionMNIST(dir, true)
	if err != nil || mt.N != 5 || !slices.Equal(mt.Pix, tpix) || mt.Name != "fashion-mnist-test" {
		t.Fatalf("test set %+v %v", mt, err)
	}
	// RowTo: 2v/255 - 1 exactly at the grid's two ends and midpoint rule.
	row := make([]float64, 12)
	m.RowTo(row, 0)
	for j, v := range row {
		if want := float64(pix[j])*2/255 - 1; v != want {
			t.Fatalf("RowTo[%d] = %v, want %v", j, v, want)
		}
	}
	tab := m.Table()
	if tab.N != 12 || tab.D != 12 || !slices.Equal(tab.Row(0), row) || !slices.Equal(tab.Labels, labels) {
		t.Fatalf("Table %d x %d", tab.N, tab.D)
	}
}

func TestLoadFashionMNISTErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadFashionMNIST(dir, false); err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("missing files: %v; want one line with the apt-get command", err)
	}
	writeFashion(t, dir, "train", 4, 2, 2, false)
	// Labels for another set: 3 labels for 4 images.
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxBytes(IDXUint8, []uint32{3}, []byte{1, 2, 3}), 0o644)
	if _, err := LoadFashionMNIST(dir, false); err == nil || !strings.Contains(err.Error(), "3 labels for the 4 images") {
		t.Fatalf("label count: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxBytes(IDXUint8, []uint32{4}, []byte{1, 2, 10, 3}), 0o644)
	if _, err := LoadFashionMNIST(dir, false); err == nil || !strings.Contains(err.Error(), "label 10") {
		t.Fatalf("label out of range: %v", err)
	}
	// A truncated image file.
	b := idxBytes(IDXUint8, []uint32{4, 2, 2}, make([]byte, 16))
	os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), b[:len(b)-3], 0o644)
	if _, err := LoadFashionMNIST(dir, false); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated images: %v", err)
	}
	// Images that are not uint8.
	os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), idxBytes(IDXInt16, []uint32{4, 1, 1}, make([]byte, 8)), 0o644)
	if _, err := LoadFashionMNIST(dir, false); err == nil || !strings.Contains(err.Error(), "uint8") {
		t.Fatalf("int16 images: %v", err)
	}
}

func TestFashionByName(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(FashionMNISTEnv, dir)
	if _, err := ByName("fashion-mnist"); err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Fatalf("ByName without files: %v", err)
	}
	// The set is 1 x 28 x 28 by declaration; a folder of other images is refused.
	writeFashion(t, dir, "t10k", 3, 2, 2, true)
	if _, err := ByName("fashion-mnist-test"); err == nil || !strings.Contains(err.Error(), "1 x 28 x 28") {
		t.Fatalf("ByName with 2 x 2 images: %v", err)
	}
	pix, labels := writeFashion(t, dir, "train", 20, 28, 28, true)
	src, err := Open("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	is, ok := src.(ImageSource)
	if !ok || src.Dim() != 784 || src.Name() != "fashion-mnist" {
		t.Fatalf("source %T dim %d", src, src.Dim())
	}
	if c, h, w := is.ImageShape(); c != 1 || h != 28 || w != 28 {
		t.Fatalf("shape %d %d %d", c, h, w)
	}
	// Sample and SampleLabeled draw the same images; labels belong to them.
	const n = 50
	x := make([]float64, n*784)
	y := make([]float64, n*784)
	lab := make([]int, n)
	is.Sample(x, n, rand.New(rand.NewPCG(1, 2)))
	is.SampleLabeled(y, lab, n, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(x, y) {
		t.Fatal("SampleLabeled draws other images than Sample")
	}
	for i := range n {
		// Image k has pixel 0 equal to 7k mod 256; recover k.
		v := math.Round((x[i*784] + 1) * 255 / 2)
		k := -1
		for c := range 20 {
			if float64(pix[c*784]) == v {
				k = c
			}
		}
		if k < 0 || lab[i] != labels[k] {
			t.Fatalf("row %d: pixel 0 = %v (image %d), label %d", i, v, k, lab[i])
		}
	}
	// Dequantised: every value of a row lies in the bin
	// [-1 + 2v/256, -1 + 2(v+1)/256) of the pixel v of one training image.
	dq := ImageSource{Set: is.Set, Dequantize: true}
	dq.Sample(y, n, rand.New(rand.NewPCG(3, 4)))
	for i := range n {
		row := y[i*784 : (i+1)*784]
		found := false
		for k := 0; k < 20 && !found; k++ {
			found = true
			for j, v := range row {
				if math.Floor((v+1)*128) != float64(pix[k*784+j]) {
					found = false
					break
				}
			}
		}
		if !found {
			t.Fatalf("dequantised row %d is not in the bins of any image", i)
		}
	}
}

// TestFashionMNISTFiles checks the installed data set when it is there:
// 60,000 + 10,000 images of 28 x 28, 6,000 and 1,000 of each class (the
// balanced classes of Xiao et al. 2017).
func TestFashionMNISTFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 30 MB of gzip")
	}
	for _, c := range []struct {
		test     bool
		n, class int
	}{{false, 60000, 6000}, {true, 10000, 1000}} {
		m, err := LoadFashionMNIST(FashionMNISTDir, c.test)
		if err != nil {
			if _, serr := os.Stat(FashionMNISTDir); serr != nil {
				t.Skip("dataset-fashion-mnist is not installed")
			}
			t.Fatal(err)
		}
		if m.N != c.n || m.C != 1 || m.H != 28 || m.W != 28 {
			t.Fatalf("%d x %d x %d x %d", m.N, m.C, m.H, m.W)
		}
		count := make([]int, 10)
		for _, l := range m.Labels {
			count[l]++
		}
		for k, n := range count {
			if n != c.class {
				t.Fatalf("class %d has %d images, want %d", k, n, c.class)
			}
		}
	}
}

func TestShapeOf(t *testing.T) {
	for _, c := range []struct {
		spec    string
		c, h, w int
		ok      bool
	}{{"digits", 1, 8, 8, true}, {"fashion-mnist,dequant=uniform", 1, 28, 28, true}, {"fashion-mnist-test", 1, 28, 28, true}, {"gmm8", 0, 0, 0, false}, {"x.npy", 0, 0, 0, false}} {
		c0, h, w, ok := ShapeOf(c.spec)
		if c0 != c.c || h != c.h || w != c.w || ok != c.ok {
			t.Errorf("ShapeOf(%q) = %d %d %d %v", c.spec, c0, h, w, ok)
		}
	}
}
