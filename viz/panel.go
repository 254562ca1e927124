package viz

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// This file holds the building blocks of free-form panels (the notebooks'
// pictures): a panel with grid lines, series added to it by colour index,
// log axes with 1-2-5 ticks, heat maps, and a grid of panels rendered at a
// size in pixels.

// seriesColors are the eight colour-blind-safe colours of Okabe and Ito
// (2008, "Color Universal Design").
var seriesColors = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{0, 158, 115, 255},   // bluish green
	color.RGBA{204, 121, 167, 255}, // reddish purple
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{0, 0, 0, 255},       // black
	color.RGBA{240, 228, 66, 255},  // yellow
}

// SeriesColor returns the i-th series colour: Okabe and Ito's eight
// colour-blind-safe colours, repeating (negative i counts from the end).
func SeriesColor(i int) color.Color {
	n := len(seriesColors)
	return seriesColors[((i%n)+n)%n]
}

// seriesCycle returns how many times series i has gone round the colours.
func seriesCycle(i int) int {
	if i < 0 {
		return 0
	}
	return i / len(seriesColors)
}

// translucent returns c with alpha a (0..255), non-premultiplied.
func translucent(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), a}
}

// NewPanel returns an empty plot with a title, axis labels and grid lines,
// for the Add functions below.
func NewPanel(title, xlabel, ylabel string) *plot.Plot {
	p := newPlot(title, xlabel, ylabel)
	p.Add(plotter.NewGrid())
	return p
}

// Square fixes both axes of p to [-l, l].
func Square(p *plot.Plot, l float64) {
	p.X.Min, p.X.Max = -l, l
	p.Y.Min, p.Y.Max = -l, l
}

// LogX puts the x axis of p on a log scale with LogTicks. Call it before
// adding series: the Add functions drop the points a log axis cannot show.
func LogX(p *plot.Plot) {
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = LogTicks{}
}

// LogY puts the y axis of p on a log scale with LogTicks (see LogX).
func LogY(p *plot.Plot) {
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = LogTicks{}
}

// isLog reports whether an axis is on a log scale.
func isLog(a plot.Axis) bool {
	_, ok := a.Scale.(plot.LogScale)
	return ok
}

// LogTicks marks a log axis at every integer multiple of each power of ten in
// range, labelling 1, 2 and 5 times the powers when the axis spans less than
// three decades and only the powers otherwise. It marks nothing unless
// 0 < lo < hi.
type LogTicks struct{}

// Ticks returns the ticks of [lo, hi].
func (LogTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return nil
	}
	labelled := map[int]bool{1: true}
	if hi/lo < 1e3 {
		labelled[2], labelled[5] = true, true
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled[m] {
				t.Label = strconv.FormatFloat(v, 'g', 4, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// points pairs x and y into plotter.XYs, dropping the points p cannot draw:
// non-finite ones and, on a log axis, non-positive ones.
func points(p *plot.Plot, x, y []float64) plotter.XYs {
	if len(x) != len(y) {
		panic(fmt.Sprintf("viz: %d x values but %d y values", len(x), len(y)))
	}
	lx, ly := isLog(p.X), isLog(p.Y)
	pts := make(plotter.XYs, 0, len(x))
	for i := range x {
		if !isFinite(x[i]) || !isFinite(y[i]) || (lx && !(x[i] > 0)) || (ly && !(y[i] > 0)) {
			continue
		}
		pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
	}
	return pts
}

// AddLine adds the line through (x[i], y[i]) in SeriesColor(color), dashed
// if asked, with a legend entry unless name is empty. Points that p cannot
// draw are dropped (see LogX); with none left nothing is added.
func AddLine(p *plot.Plot, name string, x, y []float64, color int, dashed bool) {
	pts := points(p, x, y)
	if len(pts) == 0 {
		return
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		panic(fmt.Sprintf("viz: AddLine: %v", err)) // only for non-finite points, dropped above
	}
	l.Color = SeriesColor(color)
	l.Width = vg.Points(1.5)
	switch {
	case dashed:
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	case seriesCycle(color) > 0:
		// past the eight colours: dotted, so that no two series look alike
		l.Dashes = []vg.Length{vg.Points(1.5), vg.Points(2)}
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
}

// AddPoints adds circles of the given radius (points) at (x[i], y[i]) in
// SeriesColor(color), as AddLine does lines.
func AddPoints(p *plot.Plot, name string, x, y []float64, color int, radius float64) {
	pts := points(p, x, y)
	if len(pts) == 0 {
		return
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		panic(fmt.Sprintf("viz: AddPoints: %v", err))
	}
	s.GlyphStyle.Color = SeriesColor(color)
	s.GlyphStyle.Radius = vg.Points(radius)
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	if seriesCycle(color) > 0 {
		s.GlyphStyle.Shape = draw.BoxGlyph{} // past the eight colours
	}
	p.Add(s)
	if name != "" {
		p.Legend.Add(name, s)
	}
}

// AddCloud adds the first two coordinates of the rows of xy (d >= 2 values
// each) as small translucent dots in SeriesColor(color), without a legend
// entry; non-finite rows are dropped.
func AddCloud(p *plot.Plot, xy []float64, d, color int) {
	if d < 2 || len(xy)%d != 0 {
		panic(fmt.Sprintf("viz: AddCloud: %d values are not whole rows of %d >= 2", len(xy), d))
	}
	n := len(xy) / d
	x, y := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i], y[i] = xy[i*d], xy[i*d+1]
	}
	pts := points(p, x, y)
	if len(pts) == 0 {
		return
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		panic(fmt.Sprintf("viz: AddCloud: %v", err))
	}
	s.GlyphStyle.Color = translucent(SeriesColor(color), 90)
	s.GlyphStyle.Radius = vg.Points(1)
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(s)
}

// AddHist adds a histogram of the finite values of v with the given number
// of bins, normalised to unit area, filled in SeriesColor(color), with a
// legend entry unless name is empty. The y axis of p must be linear.
func AddHist(p *plot.Plot, name string, v []float64, bins, color int) {
	vals := make(plotter.Values, 0, len(v))
	for _, x := range v {
		if isFinite(x) {
			vals = append(vals, x)
		}
	}
	if len(vals) == 0 {
		return
	}
	h, err := plotter.NewHist(vals, max(bins, 1))
	if err != nil {
		panic(fmt.Sprintf("viz: AddHist: %v", err))
	}
	h.Normalize(1)
	h.FillColor = translucent(SeriesColor(color), 110)
	h.LineStyle.Color = SeriesColor(color)
	p.Add(h)
	if name != "" {
		p.Legend.Add(name, h)
	}
}

// AddHeat adds g, a function tabulated on a regular grid (g.X and g.Y evenly
// spaced and increasing), as one smooth image with a black-body colour map
// over [lo, hi]: values at or below lo (and NaN) take the darkest colour,
// values at or above hi the brightest. Each value fills the cell centred on
// its grid point.
func AddHeat(p *plot.Plot, g plotter.GridXYZ, lo, hi float64) {
	nx, ny := g.Dims()
	if nx < 1 || ny < 1 {
		return
	}
	if !(hi > lo) {
		panic(fmt.Sprintf("viz: AddHeat: colour range [%v, %v] is empty", lo, hi))
	}
	img := heatImage(g, lo, hi)
	half := func(n int, at func(int) float64) float64 {
		if n < 2 {
			return 0.5
		}
		return (at(n-1) - at(0)) / float64(n-1) / 2
	}
	hx, hy := half(nx, g.X), half(ny, g.Y)
	p.Add(plotter.NewImage(img, g.X(0)-hx, g.Y(0)-hy, g.X(nx-1)+hx, g.Y(ny-1)+hy))
}

// AddCells adds g as a grid of sharp-edged cells, one per value, coloured as
// in AddHeat over [lo, hi]: for small tables (bits, counts) where AddHeat's
// smoothing would blur the cells.
func AddCells(p *plot.Plot, g plotter.GridXYZ, lo, hi float64) {
	if !(hi > lo) {
		panic(fmt.Sprintf("viz: AddCells: colour range [%v, %v] is empty", lo, hi))
	}
	h := plotter.NewHeatMap(g, moreland.ExtendedBlackBody().Palette(64))
	h.Min, h.Max = lo, hi
	h.Underflow, h.Overflow = h.Palette.Colors()[0], h.Palette.Colors()[63]
	p.Add(h)
}

// heatImage is AddHeat's picture of g: pixel (c, ny-1-r) shows Z(c, r).
func heatImage(g plotter.GridXYZ, lo, hi float64) *image.RGBA {
	nx, ny := g.Dims()
	cols := moreland.ExtendedBlackBody().Palette(64).Colors()
	img := image.NewRGBA(image.Rect(0, 0, nx, ny))
	for r := range ny {
		for c := range nx {
			u := (g.Z(c, r) - lo) / (hi - lo)
			if math.IsNaN(u) || u < 0 {
				u = 0
			}
			k := min(int(u*float64(len(cols))), len(cols)-1)
			img.Set(c, ny-1-r, cols[k]) // image rows run downwards
		}
	}
	return img
}

// Render draws a grid of panels (rows of equal length, nil cells blank) on a
// width x height pixel image: Figure{Plots: grid, Width: width, Height: height}.Image().
func Render(grid [][]*plot.Plot, width, height int) image.Image {
	return (&Figure{Plots: grid, Width: width, Height: height}).Image()
}

// EncodePNG encodes any image as PNG bytes (for display.PNG in a notebook, or
// a file).
func EncodePNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(fmt.Sprintf("viz: EncodePNG: %v", err)) // only for an empty image: a bytes.Buffer does not fail
	}
	return b.Bytes()
}

// Grid is a function tabulated on a regular grid (NY rows of NX values in
// Values, row r at y = Y0 + r DY, column c at x = X0 + c DX), a
// plotter.GridXYZ for AddHeat and AddCells.
type Grid struct {
	NX, NY         int
	X0, Y0, DX, DY float64
	Values         []float64
}

func (g *Grid) Dims() (c, r int)   { return g.NX, g.NY }
func (g *Grid) Z(c, r int) float64 { return g.Values[r*g.NX+c] }
func (g *Grid) X(c int) float64    { return g.X0 + float64(c)*g.DX }
func (g *Grid) Y(r int) float64    { return g.Y0 + float64(r)*g.DY }

// NewGrid tabulates f on an n x n grid over [-l, l]^2.
func NewGrid(n int, l float64, f func(x, y float64) float64) *Grid {
	g := &Grid{NX: n, NY: n, X0: -l, Y0: -l, DX: 2 * l / float64(n-1), DY: 2 * l / float64(n-1), Values: make([]float64, n*n)}
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			g.Values[r*n+c] = f(g.X(c), g.Y(r))
		}
	}
	return g
}
