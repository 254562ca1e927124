package viz

import (
	"bytes"
	"image/color"
	"image/png"
	"math"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Okabe and Ito's first colour, cycling, and negative indices from the end.
func TestSeriesColor(t *testing.T) {
	if SeriesColor(0) != (color.RGBA{0, 114, 178, 255}) || SeriesColor(8) != SeriesColor(0) || SeriesColor(-1) != SeriesColor(7) {
		t.Errorf("SeriesColor: %v %v %v", SeriesColor(0), SeriesColor(8), SeriesColor(-1))
	}
}

// 1-2-5 labels below three decades, powers of ten only above; minor ticks at
// every other integer multiple; nothing for a range a log axis cannot have.
func TestLogTicks(t *testing.T) {
	labels := func(ts []plot.Tick) (l []float64, minor int) {
		for _, tk := range ts {
			if tk.Label != "" {
				l = append(l, tk.Value)
			} else {
				minor++
			}
		}
		return l, minor
	}
	near := func(a, b []float64) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Abs(a[i]-b[i]) > 1e-12*b[i] {
				return false
			}
		}
		return true
	}
	l, minor := labels(LogTicks{}.Ticks(0.1, 10))
	if want := []float64{0.1, 0.2, 0.5, 1, 2, 5, 10}; !near(l, want) || minor != 12 {
		t.Errorf("[0.1, 10]: labels %v (want %v), %d minor ticks (want 12)", l, want, minor)
	}
	l, _ = labels(LogTicks{}.Ticks(1e-3, 10))
	if want := []float64{1e-3, 1e-2, 0.1, 1, 10}; !near(l, want) {
		t.Errorf("[1e-3, 10]: labels %v, want %v", l, want)
	}
	for _, r := range [][2]float64{{0, 1}, {-1, 1}, {2, 1}, {1, math.Inf(1)}} {
		if ts := (LogTicks{}).Ticks(r[0], r[1]); ts != nil {
			t.Errorf("%v: %d ticks, want none", r, len(ts))
		}
	}
}

// The Add functions draw only what the axes can show: non-finite points are
// dropped, and on a log axis non-positive ones; a series with nothing left
// adds nothing (no legend entry), a named one gets a legend entry.
func TestAddDropsWhatCannotBeDrawn(t *testing.T) {
	x := []float64{1, 2, math.NaN(), 4, 5}
	y := []float64{1, -1, 3, math.Inf(1), 0}
	p := NewPanel("t", "x", "y")
	if got := points(p, x, y); len(got) != 3 || got[2] != (plotter.XY{X: 5, Y: 0}) {
		t.Errorf("linear axes: %v, want (1, 1), (2, -1), (5, 0)", got)
	}
	LogY(p)
	if got := points(p, x, y); len(got) != 1 || got[0] != (plotter.XY{X: 1, Y: 1}) {
		t.Errorf("log y: %v, want only (1, 1)", got)
	}
	LogX(p)
	if got := points(p, []float64{0, 1}, []float64{1, 1}); len(got) != 1 {
		t.Errorf("log x: %v, want only (1, 1)", got)
	}
	q := NewPanel("linear", "", "") // histograms need a linear y axis
	dc := draw.New(vgimg.New(vg.Points(300), vg.Points(300)))
	height := func() vg.Length {
		r, rq := p.Legend.Rectangle(dc), q.Legend.Rectangle(dc)
		return r.Max.Y - r.Min.Y + rq.Max.Y - rq.Min.Y
	}
	for _, add := range []struct {
		name  string
		entry bool
		f     func(string)
	}{
		{"line", true, func(n string) { AddLine(p, n, x, y, 0, true) }},
		{"points", true, func(n string) { AddPoints(p, n, x, y, 1, 2) }},
		{"nothing drawable", false, func(n string) { AddLine(p, n, []float64{1}, []float64{-1}, 2, false) }},
		{"hist", true, func(n string) { AddHist(q, n, []float64{0, 1, 1, math.NaN(), 2}, 4, 3) }},
		{"no finite values", false, func(n string) { AddHist(q, n, []float64{math.NaN()}, 4, 3) }},
	} {
		before := height()
		add.f(add.name)
		if grew := height() > before; grew != add.entry {
			t.Errorf("%s: legend entry added %v, want %v", add.name, grew, add.entry)
		}
	}
	AddCloud(p, []float64{1, 2, 9, 3, 4, 9}, 3, 4)
	_ = Render([][]*plot.Plot{{p, q}}, 400, 150) // draws without panicking
}

// grid3x2 is a 3-column, 2-row regular grid whose value rises along x and is
// higher in the top row.
type grid3x2 struct{}

func (grid3x2) Dims() (c, r int)   { return 3, 2 }
func (grid3x2) Z(c, r int) float64 { return float64(c) + 10*float64(r) }
func (grid3x2) X(c int) float64    { return 2 * float64(c) }
func (grid3x2) Y(r int) float64    { return float64(r) }

// AddHeat puts each value's cell centred on its grid point (half a spacing
// beyond the outer points), row 0 at the bottom, values at or below lo on the
// darkest colour and at or above hi on the brightest.
func TestAddHeat(t *testing.T) {
	p := NewPanel("", "", "")
	AddHeat(p, grid3x2{}, 0, 12)
	if p.X.Min != -1 || p.X.Max != 5 || p.Y.Min != -0.5 || p.Y.Max != 1.5 {
		t.Errorf("heat map covers [%v, %v] x [%v, %v], want [-1, 5] x [-0.5, 1.5]", p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)
	}
	AddCells(p, grid3x2{}, 0, 12)
	_ = Single(p).SetSize(200, 200).Image() // draws without panicking
	img := heatImage(grid3x2{}, 0, 12)
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Fatalf("heat image %v, want 3 x 2 pixels", b)
	}
	// Pixel rows run downwards: the bottom left pixel is Z(0, 0) = 0, the
	// darkest colour; the top right Z(2, 1) = 12, the brightest.
	cols := moreland.ExtendedBlackBody().Palette(64).Colors()
	same := func(a, b color.Color) bool { return color.RGBAModel.Convert(a) == color.RGBAModel.Convert(b) }
	if !same(img.At(0, 1), cols[0]) || !same(img.At(2, 0), cols[63]) {
		t.Errorf("corners %v %v, want %v %v", img.At(0, 1), img.At(2, 0), cols[0], cols[63])
	}
}

// Render gives the asked size with blank cells, and EncodePNG round-trips.
func TestRenderAndEncodePNG(t *testing.T) {
	p := NewPanel("a", "x", "y")
	AddLine(p, "", []float64{0, 1}, []float64{0, 1}, 0, false)
	img := Render([][]*plot.Plot{{p, nil}, {nil, p}}, 300, 200)
	if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 200 {
		t.Fatalf("image %v, want 300 x 200", b)
	}
	back, err := png.Decode(bytes.NewReader(EncodePNG(img)))
	if err != nil || back.Bounds() != img.Bounds() {
		t.Errorf("PNG round trip: %v, bounds %v", err, back)
	}
}

// NewGrid tabulates f at the corners and centre of [-l, l]^2 exactly where
// X and Y say, and reads back through Z as plotter.GridXYZ does.
func TestNewGrid(t *testing.T) {
	f := func(x, y float64) float64 { return 10*x + y }
	g := NewGrid(5, 2, f)
	if c, r := g.Dims(); c != 5 || r != 5 {
		t.Fatalf("Dims %d x %d, want 5 x 5", c, r)
	}
	for _, cr := range [][2]int{{0, 0}, {4, 0}, {0, 4}, {4, 4}, {2, 2}, {1, 3}} {
		c, r := cr[0], cr[1]
		if got, want := g.Z(c, r), f(g.X(c), g.Y(r)); got != want {
			t.Errorf("Z(%d, %d) = %v, want f(%v, %v) = %v", c, r, got, g.X(c), g.Y(r), want)
		}
	}
	if g.X(0) != -2 || g.X(4) != 2 || g.Y(2) != 0 {
		t.Errorf("grid spans x %v..%v, y centre %v; want -2..2 and 0", g.X(0), g.X(4), g.Y(2))
	}
}
