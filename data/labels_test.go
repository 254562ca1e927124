package data

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCSVLabelColumn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.csv")
	os.WriteFile(path, []byte("x0,Label,x1\n# comment\n1,2,3\n\n4,0,6\n"), 0o644)
	tab, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Table{N: 2, D: 2, X: []float64{1, 3, 4, 6}, Labels: []int{2, 0}, Name: path}
	if d := cmp.Diff(want, tab); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if tab.Classes() != 3 {
		t.Errorf("Classes %d, want 3", tab.Classes())
	}
	for _, c := range []struct{ text, msg string }{
		{"x,label\n1,0\n2,1.5\n", "l.csv line 3 column 2: label 1.5 is not a class"},
		{"x,label\n1,-1\n", "line 2 column 2: label -1 is not a class"},
		{"x,label\n1,\n", "line 2 column 2: empty value"},
		{"x,label\n1,a\n", `line 2 column 2: "a" is not a number`},
		{"label\n1\n", `only a "label" column`},
		{"label,x,label\n1,2,3\n", `two "label" columns`},
	} {
		os.WriteFile(path, []byte(c.text), 0o644)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want one line with %q", c.text, err, c.msg)
		}
	}
	// Save writes the labels back as a last "label" column.
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	if back, err := Load(path); err != nil || !cmp.Equal(back.Labels, want.Labels) || !cmp.Equal(back.X, want.X) {
		t.Errorf("labels round trip: %+v %v", back, err)
	}
	// Without a header (or without a label column) nothing changes.
	os.WriteFile(path, []byte("1,2\n3,4\n"), 0o644)
	if tab, err := Load(path); err != nil || tab.Labels != nil || tab.D != 2 {
		t.Errorf("no header: %+v %v", tab, err)
	}
}

func TestNPYLabels(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npy")
	if err := Save(path, &Table{N: 3, D: 2, X: []float64{1, 2, 3, 4, 5, 6}}); err != nil {
		t.Fatal(err)
	}
	if tab, err := Load(path); err != nil || tab.Labels != nil {
		t.Fatalf("no labels file: %v %v", tab.Labels, err)
	}
	if LabelsPath(path) != filepath.Join(dir, "x.labels.npy") {
		t.Errorf("LabelsPath %s", LabelsPath(path))
	}
	if err := Save(LabelsPath(path), &Table{N: 3, D: 1, X: []float64{0, 4, 1}}); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{0, 4, 1}, tab.Labels); d != "" {
		t.Error(d)
	}
	Save(LabelsPath(path), &Table{N: 2, D: 1, X: []float64{0, 1}})
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "x.labels.npy: 2 x 1 labels for the 3 rows") {
		t.Errorf("short labels: %v", err)
	}
	Save(LabelsPath(path), &Table{N: 3, D: 1, X: []float64{0, 0.5, 1}})
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "row 1: label 0.5 is not a class") {
		t.Errorf("fractional label: %v", err)
	}
}

// TestDigitsSplit checks the stated rule (image i held out when i mod 5 =
// 4), its sizes, that each split has every digit, and that Table and
// SampleLabeled give images with their own labels.
func TestDigitsSplit(t *testing.T) {
	train, test := DigitsTrain.Indices(), DigitsTest.Indices()
	if len(train) != 1438 || len(test) != 359 || len(DigitsAll.Indices()) != DigitsN {
		t.Fatalf("sizes %d %d", len(train), len(test))
	}
	for _, i := range test {
		if i%5 != 4 {
			t.Fatalf("held-out image %d", i)
		}
	}
	pix, labels, _, d, err := Digits()
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range []DigitsSplit{DigitsTrain, DigitsTest} {
		src := DigitsSource{Split: sp, Scaling: DigitsRaw}
		tab, err := src.Table()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for i, k := range sp.Indices() {
			if !cmp.Equal(tab.Row(i), pix[k*d:(k+1)*d]) || tab.Labels[i] != labels[k] {
				t.Fatalf("%s row %d is not image %d", src.Name(), i, k)
			}
			seen[labels[k]] = true
		}
		if len(seen) != 10 {
			t.Errorf("%s has digits %v", src.Name(), seen)
		}
		// SampleLabeled draws the points of Sample, and each label is the
		// label of an image of the split with those pixels.
		byImage := map[string]int{}
		for i := range tab.N {
			byImage[string(fmtRow(tab.Row(i)))] = tab.Labels[i]
		}
		a, b, y := make([]float64, 50*d), make([]float64, 50*d), make([]int, 50)
		src.Sample(a, 50, rand.New(rand.NewPCG(1, 2)))
		src.SampleLabeled(b, y, 50, rand.New(rand.NewPCG(1, 2)))
		if !cmp.Equal(a, b) {
			t.Error("SampleLabeled draws other points than Sample")
		}
		for i := range 50 {
			lab, ok := byImage[string(fmtRow(b[i*d:(i+1)*d]))]
			if !ok || lab != y[i] {
				t.Errorf("%s draw %d: label %d, image's %d (in split: %v)", src.Name(), i, y[i], lab, ok)
			}
		}
	}
	// The unsplit source draws as before (r.IntN(1797) per image).
	a := make([]float64, 5*d)
	NewDigits().Sample(a, 5, rand.New(rand.NewPCG(3, 4)))
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5 {
		k := r.IntN(DigitsN)
		if a[i*d] != pix[k*d]/8-1 {
			t.Fatalf("draw %d is not image %d", i, k)
		}
	}
}

func fmtRow(x []float64) []byte {
	b := make([]byte, 0, len(x))
	for _, v := range x {
		b = append(b, byte(int(v)))
	}
	return b
}

func TestLabeledSources(t *testing.T) {
	for _, name := range []string{"gmm8", "digits", "digits-train", "digits-test"} {
		s, _ := ByName(name)
		if _, err := Labeled(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	s, _ := ByName("moons")
	if _, err := Labeled(s); err == nil || !strings.Contains(err.Error(), "moons has no class labels") {
		t.Errorf("moons: %v", err)
	}
	e, _ := NewEmpirical(&Table{N: 3, D: 1, X: []float64{1, 2, 3}, Labels: []int{0, 1, 1}})
	a, b, y := make([]float64, 20), make([]float64, 20), make([]int, 20)
	e.Sample(a, 20, rand.New(rand.NewPCG(5, 6)))
	e.SampleLabeled(b, y, 20, rand.New(rand.NewPCG(5, 6)))
	for i := range a {
		if a[i] != b[i] || y[i] != min(int(b[i])-1, 1) {
			t.Fatalf("row %d: %v %v label %d", i, a[i], b[i], y[i])
		}
	}
}
