package viz

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// DPI is the resolution of PNG output: a Figure of Width x Height pixels is
// Width*72/DPI x Height*72/DPI points, which is also the size of its SVG.
const DPI = 96

// Default figure size in pixels.
const (
	DefaultWidth  = 800
	DefaultHeight = 600
)

// Figure is a grid of plots drawn together at a fixed size in pixels.
// Cells left nil stay blank.
type Figure struct {
	// Plots is Rows x Cols, row-major from the top left.
	Plots [][]*plot.Plot
	// Title, if set, is drawn across the top of the figure.
	Title string
	// Width and Height are the picture size in pixels (PNG) and, at 96 per
	// inch, in points times 4/3 (SVG); zero means the defaults.
	Width, Height int
}

// NewFigure returns a rows x cols grid of empty cells at the default size.
func NewFigure(rows, cols int) *Figure {
	if rows < 1 || cols < 1 {
		panic(fmt.Sprintf("viz: NewFigure(%d, %d): need at least one row and one column", rows, cols))
	}
	ps := make([][]*plot.Plot, rows)
	for i := range ps {
		ps[i] = make([]*plot.Plot, cols)
	}
	return &Figure{Plots: ps, Width: DefaultWidth, Height: DefaultHeight}
}

// Single returns a one-cell figure holding p.
func Single(p *plot.Plot) *Figure {
	f := NewFigure(1, 1)
	f.Plots[0][0] = p
	return f
}

// SetSize sets the size in pixels and returns f.
func (f *Figure) SetSize(width, height int) *Figure {
	f.Width, f.Height = width, height
	return f
}

func (f *Figure) size() (w, h vg.Length) {
	pw, ph := f.Width, f.Height
	if pw <= 0 {
		pw = DefaultWidth
	}
	if ph <= 0 {
		ph = DefaultHeight
	}
	return vg.Length(pw) * vg.Inch / DPI, vg.Length(ph) * vg.Inch / DPI
}

// draw renders the grid onto c.
func (f *Figure) draw(c vg.CanvasSizer) {
	dc := draw.New(c)
	if f.Title != "" {
		p := plot.New() // for its default title style
		sty := p.Title.TextStyle
		sty.XAlign = draw.XCenter
		sty.YAlign = draw.YTop
		h := sty.Rectangle(f.Title).Max.Y - sty.Rectangle(f.Title).Min.Y
		dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - vg.Millimeter}, f.Title)
		dc.Max.Y -= h + 2*vg.Millimeter
	}
	rows := len(f.Plots)
	if rows == 0 {
		return
	}
	cols := len(f.Plots[0])
	if rows == 1 && cols == 1 {
		if p := f.Plots[0][0]; p != nil {
			p.Draw(dc)
		}
		return
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 2, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter, PadBottom: vg.Millimeter, PadLeft: vg.Millimeter, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(f.Plots, tiles, dc)
	for i, row := range f.Plots {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// Image renders the figure to an image of Width x Height pixels.
func (f *Figure) Image() image.Image {
	w, h := f.size()
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	f.draw(c)
	return c.Image()
}

// PNG renders the figure as PNG bytes.
func (f *Figure) PNG() ([]byte, error) {
	w, h := f.size()
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	f.draw(c)
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("viz: encoding PNG: %w", err)
	}
	return b.Bytes(), nil
}

// SVG renders the figure as SVG bytes (width and height in points).
func (f *Figure) SVG() ([]byte, error) {
	w, h := f.size()
	c := vgsvg.New(w, h)
	f.draw(c)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("viz: encoding SVG: %w", err)
	}
	return b.Bytes(), nil
}

// Encode renders the figure in a format named by a file extension: ".png"
// or ".svg" (any case, with or without the dot).
func (f *Figure) Encode(format string) ([]byte, error) {
	switch strings.ToLower(strings.TrimPrefix(format, ".")) {
	case "png":
		return f.PNG()
	case "svg":
		return f.SVG()
	}
	return nil, fmt.Errorf("viz: unknown picture format %q; use png or svg", format)
}

// Save writes the figure to path, PNG or SVG by extension. The picture goes
// to a temporary file in the same folder that is renamed to path when
// complete, so an interrupted run never leaves a half-written picture.
func (f *Figure) Save(path string) error {
	b, err := f.Encode(filepath.Ext(path))
	if err != nil {
		return fmt.Errorf("viz: %s: %s", path, strings.TrimPrefix(err.Error(), "viz: "))
	}
	return writeAtomic(path, b)
}

// writeAtomic writes b to a temporary file beside path and renames it into
// place, so that no partial file ever has the final name.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("viz: %s: %w", path, err)
	}
	name := tmp.Name()
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, 0o644)
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("viz: %s: %w", path, err)
	}
	return nil
}

// WriteTo writes the figure as PNG to w.
func (f *Figure) WriteTo(w io.Writer) (int64, error) {
	b, err := f.PNG()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// newPlot returns a plot with a title and axis labels.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	return p
}

// Colors used throughout.
var (
	sampleColor = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	exactColor  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// ScatterOptions configures Scatter2D.
type ScatterOptions struct {
	Title string
	// LogDensity, if not nil, is the exact log-density; its contours are
	// drawn under the points.
	LogDensity func(x, y float64) float64
	// Levels is the number of contour levels (default 8): log-density values
	// spaced evenly from the maximum on the grid down to 9 nats below it.
	Levels int
	// Grid is the number of grid points per axis for the contours (default 120).
	Grid int
	// XMin, XMax, YMin, YMax fix the axes; all zero means fit the points.
	XMin, XMax, YMin, YMax float64
}

// Scatter2D plots the rows of xy (n x 2, row-major) as points, over the
// contours of the exact density when opt.LogDensity is set.
func Scatter2D(xy []float64, opt ScatterOptions) *plot.Plot {
	if len(xy)%2 != 0 {
		panic(fmt.Sprintf("viz: Scatter2D: %d values are not whole rows of 2", len(xy)))
	}
	n := len(xy) / 2
	p := newPlot(opt.Title, "x0", "x1")
	pts := make(plotter.XYs, 0, n)
	for i := 0; i < n; i++ {
		x, y := xy[2*i], xy[2*i+1]
		if isFinite(x) && isFinite(y) {
			pts = append(pts, plotter.XY{X: x, Y: y})
		}
	}
	xmin, xmax, ymin, ymax := opt.XMin, opt.XMax, opt.YMin, opt.YMax
	if xmin == 0 && xmax == 0 && ymin == 0 && ymax == 0 {
		xmin, xmax, ymin, ymax = bounds(pts)
	}
	if opt.LogDensity != nil {
		g := opt.Grid
		if g < 2 {
			g = 120
		}
		levels := opt.Levels
		if levels < 1 {
			levels = 8
		}
		grid := newGrid(opt.LogDensity, xmin, xmax, ymin, ymax, g)
		lv := make([]float64, levels)
		for k := range lv {
			lv[k] = grid.max - 9*float64(k+1)/float64(levels+1)
		}
		c := plotter.NewContour(grid, lv, moreland.SmoothBlueRed().Palette(levels))
		c.LineStyles[0].Width = vg.Points(0.8)
		p.Add(c)
	}
	if len(pts) > 0 {
		s, err := plotter.NewScatter(pts)
		if err == nil {
			s.GlyphStyle.Radius = vg.Points(1)
			s.GlyphStyle.Color = color.NRGBA{R: 31, G: 119, B: 180, A: 140}
			s.GlyphStyle.Shape = draw.CircleGlyph{}
			p.Add(s)
		}
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xmin, xmax, ymin, ymax
	return p
}

// bounds returns the range of the points padded by 5%, or [-1, 1]^2.
func bounds(pts plotter.XYs) (xmin, xmax, ymin, ymax float64) {
	if len(pts) == 0 {
		return -1, 1, -1, 1
	}
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, q := range pts {
		xmin, xmax = math.Min(xmin, q.X), math.Max(xmax, q.X)
		ymin, ymax = math.Min(ymin, q.Y), math.Max(ymax, q.Y)
	}
	pad := func(lo, hi float64) (float64, float64) {
		w := hi - lo
		if w == 0 {
			w = 1
		}
		return lo - 0.05*w, hi + 0.05*w
	}
	xmin, xmax = pad(xmin, xmax)
	ymin, ymax = pad(ymin, ymax)
	return
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// grid is a plotter.GridXYZ of a function on a regular grid.
type grid struct {
	x, y     []float64
	z        []float64 // len(y) rows of len(x)
	min, max float64
}

func newGrid(f func(x, y float64) float64, xmin, xmax, ymin, ymax float64, n int) *grid {
	g := &grid{x: linspace(xmin, xmax, n), y: linspace(ymin, ymax, n), z: make([]float64, n*n),
		min: math.Inf(1), max: math.Inf(-1)}
	for r, y := range g.y {
		for c, x := range g.x {
			v := f(x, y)
			if !isFinite(v) {
				v = -1e300
			}
			g.z[r*n+c] = v
			g.min, g.max = math.Min(g.min, v), math.Max(g.max, v)
		}
	}
	return g
}

func (g *grid) Dims() (c, r int)   { return len(g.x), len(g.y) }
func (g *grid) Z(c, r int) float64 { return g.z[r*len(g.x)+c] }
func (g *grid) X(c int) float64    { return g.x[c] }
func (g *grid) Y(r int) float64    { return g.y[r] }
func (g *grid) Min() float64       { return g.min }
func (g *grid) Max() float64       { return g.max }

func linspace(a, b float64, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	return v
}

// HistogramOptions configures Histogram.
type HistogramOptions struct {
	Title, XLabel string
	// Bins is the number of bins (default 40; for whole numbers such as
	// evaluation counts, at most one bin per value).
	Bins int
	// Density, if not nil, is an exact probability density drawn over the
	// histogram, which is then normalised to unit area.
	Density func(v float64) float64
	// Integer marks whole-number values (bins are centred on them).
	Integer bool
}

// Histogram plots the distribution of values (non-finite values skipped).
func Histogram(values []float64, opt HistogramOptions) *plot.Plot {
	ylabel := "count"
	if opt.Density != nil {
		ylabel = "density"
	}
	p := newPlot(opt.Title, opt.XLabel, ylabel)
	h := newHist(values, opt)
	if h == nil {
		p.Title.Text += " (no finite values)"
		return p
	}
	h.FillColor = color.NRGBA{R: 31, G: 119, B: 180, A: 160}
	h.LineStyle.Width = vg.Points(0.3)
	if opt.Density != nil {
		h.Normalize(1)
	}
	p.Add(h)
	if opt.Density != nil {
		fn := plotter.NewFunction(opt.Density)
		fn.Color = exactColor
		fn.Width = vg.Points(1.5)
		fn.Samples = 200
		xmin, xmax, _, _ := h.DataRange()
		fn.XMin, fn.XMax = xmin, xmax
		p.Add(fn)
		p.Legend.Add("samples", h)
		p.Legend.Add("exact", fn)
		p.Legend.Top = true
	}
	return p
}

// newHist bins the finite values; nil when there are none.
func newHist(values []float64, opt HistogramOptions) *plotter.Histogram {
	vs := make(plotter.Values, 0, len(values)+2)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if isFinite(v) {
			vs = append(vs, v)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if len(vs) == 0 {
		return nil
	}
	bins := opt.Bins
	if bins < 1 {
		bins = 40
	}
	if opt.Integer {
		bins = min(bins, int(hi-lo)+1)
		// Whole-number bins: pad the range by half a unit each side.
		vs = append(vs, lo-0.5, hi+0.5)
	}
	h, err := plotter.NewHist(vs, max(bins, 1))
	if err != nil {
		return nil
	}
	if opt.Integer {
		// Take the two padding values back out of the counts.
		h.Bins[0].Weight--
		h.Bins[len(h.Bins)-1].Weight--
	}
	return h
}

// MarginalOptions configures Marginals.
type MarginalOptions struct {
	Title string
	// Dims are the columns of x to show (default: up to 12, evenly spaced).
	Dims []int
	// Coords, if set, gives the coordinate number of each column of x, for
	// x holding only some coordinates of the data; titles and Density use
	// it. Default: column j is coordinate j.
	Coords []int
	// Bins per histogram (default 40).
	Bins int
	// Density, if not nil, is the exact marginal density of coordinate dim.
	Density func(dim int, v float64) float64
}

// Marginals draws one histogram per shown coordinate of x (rows of d values),
// each against the exact marginal density when opt.Density is set.
func Marginals(x []float64, d int, opt MarginalOptions) *Figure {
	if d < 1 || len(x)%d != 0 {
		panic(fmt.Sprintf("viz: Marginals: %d values are not whole rows of %d", len(x), d))
	}
	if opt.Coords != nil && len(opt.Coords) != d {
		panic(fmt.Sprintf("viz: Marginals: %d Coords for %d columns", len(opt.Coords), d))
	}
	dims := opt.Dims
	if len(dims) == 0 {
		dims = SpreadDims(d, 12)
	}
	cols := int(math.Ceil(math.Sqrt(float64(len(dims)))))
	rows := (len(dims) + cols - 1) / cols
	f := NewFigure(rows, cols)
	f.Title = opt.Title
	n := len(x) / d
	col := make([]float64, n)
	for k, j := range dims {
		if j < 0 || j >= d {
			panic(fmt.Sprintf("viz: Marginals: dimension %d outside 0..%d", j, d-1))
		}
		for i := range col {
			col[i] = x[i*d+j]
		}
		coord := j
		if opt.Coords != nil {
			coord = opt.Coords[j]
		}
		ho := HistogramOptions{Title: fmt.Sprintf("x%d", coord), Bins: opt.Bins}
		if opt.Density != nil {
			ho.Density = func(v float64) float64 { return opt.Density(coord, v) }
		}
		p := Histogram(col, ho)
		p.Legend = plot.NewLegend() // one legend per panel would hide the bars; say it in Title
		p.Y.Label.Text = ""
		f.Plots[k/cols][k%cols] = p
	}
	return f
}

// SpreadDims returns up to k coordinates of 0..d-1, evenly spaced and
// including the first and the last.
func SpreadDims(d, k int) []int {
	if d <= k {
		out := make([]int, d)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, k)
	for i := 0; i < k; i++ {
		j := int(math.Round(float64(i) * float64(d-1) / float64(k-1)))
		if len(out) == 0 || out[len(out)-1] != j {
			out = append(out, j)
		}
	}
	return out
}

// Paths plots coordinate coord of every row against time: times has P
// entries and states[k] holds the n rows (of d values) at times[k].
func Paths(times []float64, states [][]float64, d, coord int, title string) *plot.Plot {
	if len(times) != len(states) {
		panic(fmt.Sprintf("viz: Paths: %d times but %d states", len(times), len(states)))
	}
	p := newPlot(title, "t", fmt.Sprintf("x%d", coord))
	if len(states) == 0 {
		return p
	}
	n := len(states[0]) / d
	for i := 0; i < n; i++ {
		pts := make(plotter.XYs, 0, len(times))
		for k, t := range times {
			v := states[k][i*d+coord]
			if isFinite(v) {
				pts = append(pts, plotter.XY{X: t, Y: v})
			}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			continue
		}
		l.Color = pathColor(i, n)
		l.Width = vg.Points(0.7)
		p.Add(l)
	}
	return p
}

// pathColor spreads n colours over a palette.
func pathColor(i, n int) color.Color {
	pal := moreland.SmoothBlueRed()
	pal.SetMin(0)
	pal.SetMax(1)
	v := 0.5
	if n > 1 {
		v = float64(i) / float64(n-1)
	}
	c, err := pal.At(v)
	if err != nil {
		return sampleColor
	}
	return c
}

// StepSizes plots the accepted step sizes of adaptive solves against time,
// one line per row: ts[i][k] is the time at which step k of row i started
// and hs[i][k] its size. The y axis is logarithmic.
func StepSizes(ts, hs [][]float64, title string) *plot.Plot {
	p := newPlot(title, "t", "step size |h|")
	LogY(p)
	any := false
	for i := range ts {
		pts := make(plotter.XYs, 0, len(ts[i]))
		for k := range ts[i] {
			if h := math.Abs(hs[i][k]); h > 0 && isFinite(h) {
				pts = append(pts, plotter.XY{X: ts[i][k], Y: h})
			}
		}
		if len(pts) == 0 {
			continue
		}
		lp, sp, err := plotter.NewLinePoints(pts)
		if err != nil {
			continue
		}
		c := pathColor(i, len(ts))
		lp.Color, sp.Color = c, c
		sp.Radius = vg.Points(1.5)
		p.Add(lp, sp)
		any = true
	}
	if !any {
		p.Y.Scale = plot.LinearScale{}
		p.Y.Tick.Marker = plot.DefaultTicks{}
		p.Title.Text += " (no steps)"
	}
	return p
}

// Lines plots named series of (x, y) points on one plot, for tables of
// results (error against step count and the like).
func Lines(title, xlabel, ylabel string, names []string, xs, ys [][]float64, logX, logY bool) *plot.Plot {
	p := newPlot(title, xlabel, ylabel)
	if logX {
		LogX(p)
	}
	if logY {
		LogY(p)
	}
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return names[idx[a]] < names[idx[b]] })
	for _, i := range idx {
		pts := make(plotter.XYs, 0, len(xs[i]))
		for k := range xs[i] {
			if isFinite(xs[i][k]) && isFinite(ys[i][k]) && (!logX || xs[i][k] > 0) && (!logY || ys[i][k] > 0) {
				pts = append(pts, plotter.XY{X: xs[i][k], Y: ys[i][k]})
			}
		}
		if len(pts) == 0 {
			continue
		}
		lp, sp, err := plotter.NewLinePoints(pts)
		if err != nil {
			continue
		}
		c := pathColor(i, len(names))
		lp.Color, sp.Color = c, c
		p.Add(lp, sp)
		p.Legend.Add(names[i], lp, sp)
	}
	return p
}
