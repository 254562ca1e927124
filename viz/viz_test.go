package viz

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// gaussianSamples draws n rows of d standard normal values.
func gaussianSamples(n, d int) []float64 {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, n*d)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func stdNormal(v float64) float64 { return math.Exp(-v*v/2) / math.Sqrt(2*math.Pi) }

// figures returns one figure of each builder.
func figures() map[string]*Figure {
	x2 := gaussianSamples(500, 2)
	x5 := gaussianSamples(400, 5)
	times := []float64{1, 0.5, 0}
	states := [][]float64{gaussianSamples(4, 2), gaussianSamples(4, 2), gaussianSamples(4, 2)}
	grid := NewFigure(1, 2)
	grid.Plots[0][0] = StepSizes([][]float64{{1, 0.9, 0.5}, {1, 0.8}}, [][]float64{{-0.1, -0.4, -0.5}, {-0.2, -0.8}}, "steps")
	grid.Plots[0][1] = Histogram([]float64{86, 86, 92, 80, 86}, HistogramOptions{Title: "NFE", Integer: true})
	return map[string]*Figure{
		"scatter": Single(Scatter2D(x2, ScatterOptions{Title: "gauss", LogDensity: func(x, y float64) float64 {
			return -(x*x + y*y) / 2
		}})),
		"marginals": Marginals(x5, 5, MarginalOptions{Title: "m", Density: func(_ int, v float64) float64 { return stdNormal(v) }}),
		"paths":     Single(Paths(times, states, 2, 1, "paths")),
		"grid":      grid,
		"lines":     Single(Lines("err", "N", "error", []string{"a", "b"}, [][]float64{{10, 100}, {10, 100}}, [][]float64{{1, 0.1}, {2, 0.2}}, true, true)),
	}
}

// TestPNGSize checks that every figure renders to a PNG that decodes to
// exactly the stated size in pixels.
func TestPNGSize(t *testing.T) {
	for name, f := range figures() {
		for _, sz := range [][2]int{{640, 480}, {333, 777}} {
			t.Run(fmt.Sprintf("%s/%dx%d", name, sz[0], sz[1]), func(t *testing.T) {
				b, err := f.SetSize(sz[0], sz[1]).PNG()
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("PNG does not decode: %v", err)
				}
				if got := img.Bounds().Size(); got.X != sz[0] || got.Y != sz[1] {
					t.Fatalf("PNG is %dx%d, want %dx%d", got.X, got.Y, sz[0], sz[1])
				}
				if got := f.Image().Bounds().Size(); got.X != sz[0] || got.Y != sz[1] {
					t.Fatalf("Image is %dx%d, want %dx%d", got.X, got.Y, sz[0], sz[1])
				}
				// A blank picture would mean nothing was drawn: count
				// non-white pixels (axes and text alone give thousands).
				dark := 0
				for y := 0; y < sz[1]; y += 2 {
					for x := 0; x < sz[0]; x += 2 {
						r, g, bl, _ := img.At(x, y).RGBA()
						if r+g+bl < 3*0xf000 {
							dark++
						}
					}
				}
				if dark < 200 {
					t.Fatalf("only %d non-white pixels sampled; the figure looks empty", dark)
				}
			})
		}
	}
}

// svgSize parses the width and height attributes (in pt) of an SVG.
func svgSize(t *testing.T, b []byte) (w, h float64) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" {
			for _, a := range se.Attr {
				v, err := strconv.ParseFloat(strings.TrimSuffix(a.Value, "pt"), 64)
				switch a.Name.Local {
				case "width":
					if err != nil {
						t.Fatalf("width %q", a.Value)
					}
					w = v
				case "height":
					if err != nil {
						t.Fatalf("height %q", a.Value)
					}
					h = v
				}
			}
			return w, h
		}
	}
}

// TestSVGSize checks that the SVG is well-formed XML whose size is the pixel
// size at 96 per inch, in points (x 72/96). Tolerance 0.01 pt: the size is
// printed with a few significant digits.
func TestSVGSize(t *testing.T) {
	for name, f := range figures() {
		t.Run(name, func(t *testing.T) {
			b, err := f.SetSize(800, 600).SVG()
			if err != nil {
				t.Fatal(err)
			}
			w, h := svgSize(t, b)
			if math.Abs(w-600) > 0.01 || math.Abs(h-450) > 0.01 {
				t.Fatalf("SVG is %gx%g pt, want 600x450", w, h)
			}
		})
	}
}

// TestSave checks that Save writes PNG and SVG by extension, leaves no
// temporary file behind, and refuses other extensions.
func TestSave(t *testing.T) {
	dir := t.TempDir()
	f := figures()["scatter"].SetSize(300, 200)
	for _, name := range []string{"a.png", "b.SVG"} {
		p := filepath.Join(dir, name)
		if err := f.Save(p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "png") {
			if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 300 || cfg.Height != 200 {
				t.Fatalf("%s: %v %+v", name, err, cfg)
			}
		} else if w, h := svgSize(t, b); math.Abs(w-225) > 0.01 || math.Abs(h-150) > 0.01 {
			t.Fatalf("%s: %gx%g pt", name, w, h)
		}
	}
	if err := f.Save(filepath.Join(dir, "c.jpg")); err == nil || !strings.Contains(err.Error(), "unknown picture format") {
		t.Fatalf("c.jpg: got %v, want an unknown-format error", err)
	}
	if err := f.Save(filepath.Join(dir, "missing", "d.png")); err == nil {
		t.Fatal("saving into a missing folder succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		names := []string{}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("folder holds %v, want only a.png and b.SVG", names)
	}
}

// TestSpreadDims checks the choice of coordinates shown for large D.
func TestSpreadDims(t *testing.T) {
	cases := []struct {
		d, k int
		want string
	}{
		{3, 12, "[0 1 2]"},
		{784, 4, "[0 261 522 783]"},
		{64, 12, "[0 6 11 17 23 29 34 40 46 52 57 63]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(SpreadDims(c.d, c.k)); got != c.want {
			t.Errorf("SpreadDims(%d, %d) = %s, want %s", c.d, c.k, got, c.want)
		}
	}
}

// TestIntegerHistogram checks that whole-number bins count each finite value
// once: the two padding values added to centre the bins are taken back out
// (the total would be 6, not 4, otherwise), and the NaN is skipped.
func TestIntegerHistogram(t *testing.T) {
	h := newHist([]float64{80, 86, 86, 92, math.NaN()}, HistogramOptions{Integer: true})
	var total, top float64
	for _, b := range h.Bins {
		total += b.Weight
		top = math.Max(top, b.Weight)
	}
	if total != 4 || top != 2 {
		t.Fatalf("bins hold %g values, tallest %g; want 4 and 2", total, top)
	}
	if h := newHist([]float64{math.NaN()}, HistogramOptions{}); h != nil {
		t.Fatal("a histogram of no finite values")
	}
}
