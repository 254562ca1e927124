package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/likelihood"
	"github.com/sdekit/sdekit/metrics"
	"github.com/sdekit/sdekit/model"
)

// fakeFashion writes a Fashion-MNIST folder of small sets (nTrain and nTest
// 28 x 28 images, pixel j of image i = (3i + j) mod 256 plus a class offset)
// and points SDEKIT_FASHION_MNIST at it for the test.
func fakeFashion(t *testing.T, nTrain, nTest int) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		img := []byte{0, 0, 8, 3}
		lab := []byte{0, 0, 8, 1}
		img = binary.BigEndian.AppendUint32(img, uint32(s.n))
		img = binary.BigEndian.AppendUint32(img, 28)
		img = binary.BigEndian.AppendUint32(img, 28)
		lab = binary.BigEndian.AppendUint32(lab, uint32(s.n))
		for i := range s.n {
			for j := range 784 {
				img = append(img, byte((3*i+j+40*(i%10))%256))
			}
			lab = append(lab, byte(i%10))
		}
		os.WriteFile(filepath.Join(dir, s.prefix+"-images-idx3-ubyte"), img, 0o644)
		os.WriteFile(filepath.Join(dir, s.prefix+"-labels-idx1-ubyte"), lab, 0o644)
	}
	t.Setenv(data.FashionMNISTEnv, dir)
	return dir
}

// TestImagesEndToEnd runs the image commands on a small fake Fashion-MNIST:
// train on dequantised images, sample with a PNG grid, likelihood and DDPM
// bound on the test set by name, the Frechet distance and the histogram
// baseline, each checked against the library computing the same thing.
func TestImagesEndToEnd(t *testing.T) {
	fakeFashion(t, 30, 8)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	mustRun(t, "train", "-data", "fashion-mnist", "-dequant", "uniform", "-hidden", "16", "-steps", "3", "-batch", "4", "-o", p("f.ckpt"))
	out := mustRun(t, "sample", "-score", p("f.ckpt"), "-sampler", "dpmpp-2m", "-steps", "4", "-n", "10", "-o", p("s.npy"), "-plot", p("s.png"))
	if !strings.Contains(out, "drew "+p("s.png")+" (the first 10 samples)") {
		t.Fatalf("sample output: %s", out)
	}
	img, err := png.Decode(bytes.NewReader(readFile(t, p("s.png"))))
	if err != nil {
		t.Fatal(err)
	}
	// 8 columns, 2 rows of 28 x 28 pixels at scale 2 with 2-pixel gaps.
	if b := img.Bounds(); b.Dx() != 8*58+2 || b.Dy() != 2*58+2 {
		t.Fatalf("grid of %v", b)
	}
	// A U-Net takes its image shape from the data and its grid from its
	// own config.
	mustRun(t, "train", "-data", "fashion-mnist", "-arch", "unet", "-channels", "8", "-groups", "4", "-mult", "1,2", "-attention", "none",
		"-steps", "1", "-batch", "2", "-o", p("u.ckpt"))
	mustRun(t, "sample", "-score", p("u.ckpt"), "-sampler", "dpmpp-2m", "-steps", "2", "-n", "2", "-o", p("u.npy"), "-plot", p("u.png"))
	if img, err := png.Decode(bytes.NewReader(readFile(t, p("u.png")))); err != nil || img.Bounds().Dx() != 2*58+2 {
		t.Fatalf("U-Net grid: %v", err)
	}
	// The data themselves: 3 images in one row.
	mustRun(t, "data", "-from", "fashion-mnist-test", "-n", "3", "-o", p("real.npy"), "-plot", p("real.png"))
	if img, err := png.Decode(bytes.NewReader(readFile(t, p("real.png")))); err != nil || img.Bounds().Dx() != 3*58+2 || img.Bounds().Dy() != 58+2 {
		t.Fatalf("data grid: %v", err)
	}
	// A vector picture of images is refused before any work.
	if code, _, errs := cli(t, context.Background(), "sample", "-score", p("f.ckpt"), "-n", "2", "-steps", "2", "-o", p("t.npy"), "-plot", p("t.svg")); code != 2 || !strings.Contains(errs, "use a name ending in .png") {
		t.Fatalf("svg grid: exit %d, %s", code, errs)
	}

	// Likelihood of the test set by name: rows 0 and 4 (shard 0/4).
	out = mustRun(t, "likelihood", "-score", p("f.ckpt"), "-data", "fashion-mnist-test", "-data-range", "-1,1", "-bits", "8",
		"-dequant", "uniform", "-shard", "0/4", "-rtol", "1e-2", "-atol", "1e-2", "-o", p("l.csv"))
	if !strings.Contains(out, "log p_eps of 2 points of fashion-mnist-test") {
		t.Fatalf("likelihood: %s", out)
	}
	// The DDPM bound with a short chain; bits/dim as the library gives them.
	out = mustRun(t, "bound", "-score", p("f.ckpt"), "-data", "fashion-mnist-test", "-n", "3", "-levels", "50", "-o", p("b.csv"))
	if !strings.Contains(out, "DDPM bound of 3 points of fashion-mnist-test") {
		t.Fatalf("bound: %s", out)
	}
	tab, err := data.Load(p("b.csv"))
	if err != nil || tab.N != 3 {
		t.Fatalf("bound results: %v", err)
	}
	for i := range 3 {
		r := tab.Row(i)
		// 1e-12: the total is the sum of the three terms, as printed.
		if r[0] != float64(i) || math.Abs(r[1]+r[2]+r[3]-r[4]) > 1e-12 || !(r[4] > 0) {
			t.Fatalf("bound row %v", r)
		}
	}

	// fd with raw values on two small files: the number
	// metrics.FrechetDistance gives for them (printed with 6 digits). (On
	// 784 pixels the eigen-decompositions take seconds.)
	a := &data.Table{N: 5, D: 3, X: []float64{1, 2, 3, 0, 1, 5, 2, 2, 2, -1, 0, 4, 3, 1, 0}}
	b := &data.Table{N: 4, D: 3, X: []float64{0, 0, 1, 2, 1, 1, 1, 3, 0, 0.5, 1, 2}}
	data.Save(p("a.csv"), a)
	data.Save(p("b.npy"), b)
	out = mustRun(t, "fd", "-data", p("a.csv"), "-ref", p("b.npy"), "-features", "pixels", "-block", "2")
	want := metrics.FrechetDistance(a.X, b.X, 3)
	if !strings.Contains(out, fmt.Sprintf("FID's formula) %.6g between 5 rows of %s and 4 rows of %s", want, p("a.csv"), p("b.npy"))) {
		t.Fatalf("fd printed %q, want %.6g", out, want)
	}
	// -clip clamps -data only: a with values above 2 set to 2.
	out = mustRun(t, "fd", "-data", p("a.csv"), "-ref", p("b.npy"), "-features", "pixels", "-clip", "-5,2")
	ac := append([]float64(nil), a.X...)
	for i := range ac {
		ac[i] = min(ac[i], 2)
	}
	if want := metrics.FrechetDistance(ac, b.X, 3); !strings.Contains(out, fmt.Sprintf("%.6g between 5 rows", want)) || !strings.Contains(out, "clamped to [-5, 2]") {
		t.Fatalf("fd -clip printed %q, want %.6g", out, want)
	}
	out = mustRun(t, "fd", "-data", p("a.csv"), "-ref", p("b.npy"), "-features", "pixels", "-n", "3")
	if want := metrics.FrechetDistance(a.X[:9], b.X, 3); !strings.Contains(out, fmt.Sprintf("%.6g between 3 rows of %s and 4 rows", want, p("a.csv"))) {
		t.Fatalf("fd -n 3 printed %q, want %.6g", out, want)
	}

	// A digits split by name is every image of it once (digits-test: the
	// 359 held-out images), what docs/latent.md's reference set is.
	src, err := data.ByName("digits-test")
	if err != nil {
		t.Fatal(err)
	}
	dt, err := src.(data.DigitsSource).Table()
	if err != nil {
		t.Fatal(err)
	}
	half := &data.Table{N: 100, D: dt.D, X: dt.X[:100*dt.D]}
	data.Save(p("dt.npy"), half)
	out = mustRun(t, "fd", "-data", p("dt.npy"), "-ref", "digits-test", "-features", "pixels")
	if want := metrics.FrechetDistance(half.X, dt.X, dt.D); !strings.Contains(out, fmt.Sprintf("FID's formula) %.6g between 100 rows of %s and 359 rows of digits-test", want, p("dt.npy"))) {
		t.Fatalf("fd -ref digits-test printed %q, want %.6g", out, want)
	}

	// fd in a classifier's features: the library's Features at t = 0 of
	// every image of both sets, then metrics.FrechetDistance.
	mustRun(t, "train-classifier", "-data", "fashion-mnist", "-clean", "-hidden", "8,6", "-steps", "2", "-batch", "4", "-o", p("c.ckpt"))
	out = mustRun(t, "fd", "-data", "fashion-mnist-test", "-ref", "fashion-mnist", "-features", p("c.ckpt"), "-block", "16")
	ck, err := model.LoadCheckpoint(p("c.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	clf, err := ck.Classifier()
	if err != nil {
		t.Fatal(err)
	}
	feats := func(m *data.Images) []float64 {
		f := make([]float64, m.N*6)
		clf.Features(f, m.Table().X, make([]float64, m.N))
		return f
	}
	testSet, _, _ := data.ImageSet("fashion-mnist-test")
	trainSet, _, _ := data.ImageSet("fashion-mnist")
	if want := metrics.FrechetDistance(feats(testSet), feats(trainSet), 6); !strings.Contains(out, fmt.Sprintf("FID's formula) %.6g between 8 rows", want)) {
		t.Fatalf("fd with a classifier printed %q, want %.6g", out, want)
	}
	if code, _, errs := cli(t, context.Background(), "fd", "-data", "fashion-mnist-test", "-features", p("f.ckpt")); code != 2 || !strings.Contains(errs, "not a classifier") {
		t.Fatalf("fd with a score network: exit %d, %s", code, errs)
	}

	// hist-bpd: the library's histogram, fitted and scored on the sets.
	test, _, _ := data.ImageSet("fashion-mnist-test")
	train, _, _ := data.ImageSet("fashion-mnist")
	out = mustRun(t, "hist-bpd")
	h := likelihood.FitPixelHistogram(train.Pix, 784, 256, 1)
	m, _ := h.BitsPerDim(test.Pix)
	if !strings.Contains(out, ": "+strconv.FormatFloat(m, 'f', 4, 64)+" +- ") {
		t.Fatalf("hist-bpd printed %q, want %.4f", out, m)
	}
}

func TestImagesBadInputs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(data.FashionMNISTEnv, filepath.Join(dir, "none"))
	os.WriteFile("three.csv", []byte("1,2,3\n4,5,6\n"), 0o644)
	os.WriteFile("two.csv", []byte("1,2\n4,5\n"), 0o644)
	const install = "apt-get install dataset-fashion-mnist"
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"train without the files", []string{"train", "-data", "fashion-mnist", "-o", "m.ckpt"}, 1, install},
		{"dequantised train without the files", []string{"train", "-data", "fashion-mnist", "-dequant", "uniform", "-o", "m.ckpt"}, 1, install},
		{"data without the files", []string{"data", "-from", "fashion-mnist", "-o", "x.npy"}, 1, install},
		{"likelihood without the files", []string{"likelihood", "-score", "gauss:784", "-data", "fashion-mnist-test", "-o", "r.csv"}, 1, install},
		{"fd without the files", []string{"fd", "-data", "two.csv", "-features", "pixels"}, 1, install},
		{"hist-bpd without the files", []string{"hist-bpd"}, 1, install},
		{"fd shapes differ", []string{"fd", "-data", "two.csv", "-ref", "three.csv", "-features", "pixels"}, 1, "-data two.csv has 2 values per row but -ref three.csv has 3"},
		{"fd no features", []string{"fd", "-data", "two.csv", "-ref", "two.csv"}, 2, "-features is required"},
		{"fd features not a checkpoint", []string{"fd", "-data", "two.csv", "-ref", "two.csv", "-features", "f.txt"}, 2, "give a classifier checkpoint"},
		{"fd bad clip", []string{"fd", "-data", "two.csv", "-ref", "two.csv", "-features", "pixels", "-clip", "1,-1"}, 2, "-clip \"1,-1\": want lo,hi"},
		{"fd n too large", []string{"fd", "-data", "two.csv", "-ref", "two.csv", "-features", "pixels", "-n", "3"}, 2, "-n 3: -data two.csv has only 2 rows"},
		{"data -plot of points", []string{"data", "-from", "gmm8", "-o", "x.npy", "-plot", "x.png"}, 2, "not an image source"},
		{"hist-bpd not an image set", []string{"hist-bpd", "-fit", "two.csv"}, 2, "give an image set"},
		{"bound needs vp", []string{"bound", "-sde", "ve", "-score", "gauss:2", "-data", "two.csv"}, 2, "use -sde vp"},
		{"bound continuous data", []string{"bound", "-score", "gauss:2", "-data", "two.csv"}, 1, "not an 8-bit value on [-1, 1]"},
	} {
		code, _, errs := cli(t, context.Background(), c.args...)
		if code != c.code || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line with %q", c.name, code, errs, c.code, c.want)
		}
	}
	noStrayFiles(t, dir, "three.csv", "two.csv")
}
