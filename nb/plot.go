package nb

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi is the resolution of every picture; sizes are given in pixels.
const dpi = 96

// PNG encodes img as PNG bytes (for display.PNG in a notebook, or a file).
func PNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // png.Encode fails only on a writer error or an empty image
	}
	return b.Bytes()
}

// palette of the series, colour-blind safe (Okabe and Ito).
var colors = []color.Color{
	color.RGBA{0, 114, 178, 255},
	color.RGBA{213, 94, 0, 255},
	color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255},
	color.RGBA{230, 159, 0, 255},
	color.RGBA{86, 180, 233, 255},
	color.RGBA{0, 0, 0, 255},
	color.RGBA{240, 228, 66, 255},
}

// seriesColor returns the i-th series colour.
func seriesColor(i int) color.Color { return colors[i%len(colors)] }

// newPlot returns a plot with a title and axis labels.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	return p
}

// xys turns parallel x and y slices into plotter.XYs, dropping non-finite
// points (and, with logY, non-positive y).
func xys(x, y []float64, logY bool) plotter.XYs {
	pts := make(plotter.XYs, 0, len(x))
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			continue
		}
		if logY && !(y[i] > 0) {
			continue
		}
		pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
	}
	return pts
}

// addLine adds one line series with a legend entry; dash > 0 draws it dashed.
func addLine(p *plot.Plot, name string, x, y []float64, ci int, dash bool, logY bool) {
	pts := xys(x, y, logY)
	if len(pts) == 0 {
		return
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		panic(err)
	}
	l.Color = seriesColor(ci)
	l.Width = vg.Points(1.5)
	if dash {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
}

// addPoints adds markers at (x, y).
func addPoints(p *plot.Plot, name string, x, y []float64, ci int, radius float64, logY bool) {
	pts := xys(x, y, logY)
	if len(pts) == 0 {
		return
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		panic(err)
	}
	s.GlyphStyle.Color = seriesColor(ci)
	s.GlyphStyle.Radius = vg.Points(radius)
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(s)
	if name != "" {
		p.Legend.Add(name, s)
	}
}

// addCloud adds a 2-D point cloud (rows of xy, D = 2 or more; the first two
// coordinates are drawn) as small translucent dots.
func addCloud(p *plot.Plot, xy []float64, d int, ci int) {
	n := len(xy) / d
	pts := make(plotter.XYs, 0, n)
	for i := 0; i < n; i++ {
		x, y := xy[i*d], xy[i*d+1]
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		pts = append(pts, plotter.XY{X: x, Y: y})
	}
	if len(pts) == 0 {
		return
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		panic(err)
	}
	r, g, b, _ := seriesColor(ci).RGBA()
	s.GlyphStyle.Color = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 90}
	s.GlyphStyle.Radius = vg.Points(1)
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(s)
}

// square sets both axes of p to [-l, l].
func square(p *plot.Plot, l float64) {
	p.X.Min, p.X.Max = -l, l
	p.Y.Min, p.Y.Max = -l, l
}

// logY puts the y axis of p on a log scale.
func logY(p *plot.Plot) {
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
}

// logX puts the x axis of p on a log scale.
func logX(p *plot.Plot) {
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
}

// logTicks labels a log axis at 1, 2 and 5 times powers of ten when it spans
// less than three decades (only powers of ten otherwise), with minor ticks
// at the other integer multiples.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
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

// render draws a grid of plots (rows of equal length; nil entries stay blank)
// on a w x h pixel image.
func render(grid [][]*plot.Plot, w, h int) image.Image {
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(w)*vg.Inch/dpi, vg.Length(h)*vg.Inch/dpi), vgimg.UseDPI(dpi))
	dc := draw.New(c)
	rows, cols := len(grid), len(grid[0])
	if rows == 1 && cols == 1 {
		grid[0][0].Draw(dc)
		return c.Image()
	}
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4)}
	// plot.Align panics on nil plots; draw blanks as empty plots without axes.
	for i := range grid {
		for j := range grid[i] {
			if grid[i][j] == nil {
				p := plot.New()
				p.HideAxes()
				grid[i][j] = p
			}
		}
	}
	canvases := plot.Align(grid, t, dc)
	for i := range grid {
		for j := range grid[i] {
			grid[i][j].Draw(canvases[i][j])
		}
	}
	return c.Image()
}

// rowsOf lays plots out cols to a row.
func rowsOf(plots []*plot.Plot, cols int) [][]*plot.Plot {
	if cols < 1 {
		cols = 1
	}
	var grid [][]*plot.Plot
	for i := 0; i < len(plots); i += cols {
		row := make([]*plot.Plot, cols)
		copy(row, plots[i:min(i+cols, len(plots))])
		grid = append(grid, row)
	}
	return grid
}

// gridXYZ is a function tabulated on a regular grid, for heat maps.
type gridXYZ struct {
	nx, ny         int
	x0, y0, dx, dy float64
	z              []float64 // ny rows of nx values
}

func (g *gridXYZ) Dims() (c, r int)   { return g.nx, g.ny }
func (g *gridXYZ) Z(c, r int) float64 { return g.z[r*g.nx+c] }
func (g *gridXYZ) X(c int) float64    { return g.x0 + float64(c)*g.dx }
func (g *gridXYZ) Y(r int) float64    { return g.y0 + float64(r)*g.dy }

// newGrid tabulates f on an n x n grid over [-l, l]^2.
func newGrid(n int, l float64, f func(x, y float64) float64) *gridXYZ {
	g := &gridXYZ{nx: n, ny: n, x0: -l, y0: -l, dx: 2 * l / float64(n-1), dy: 2 * l / float64(n-1), z: make([]float64, n*n)}
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			g.z[r*n+c] = f(g.X(c), g.Y(r))
		}
	}
	return g
}

// heatPalette is the colour map of density pictures.
func heatPalette() palette.Palette { return moreland.ExtendedBlackBody().Palette(64) }

// addHeat adds a heat map of g with the colour range [lo, hi], drawn as one
// smooth image (values below lo take the lowest colour).
func addHeat(p *plot.Plot, g *gridXYZ, lo, hi float64) {
	cols := heatPalette().Colors()
	img := image.NewRGBA(image.Rect(0, 0, g.nx, g.ny))
	for r := 0; r < g.ny; r++ {
		for c := 0; c < g.nx; c++ {
			u := (g.Z(c, r) - lo) / (hi - lo)
			if math.IsNaN(u) || u < 0 {
				u = 0
			}
			k := min(int(u*float64(len(cols))), len(cols)-1)
			img.Set(c, g.ny-1-r, cols[k]) // image rows run downwards
		}
	}
	hx, hy := g.dx/2, g.dy/2
	p.Add(plotter.NewImage(img, g.X(0)-hx, g.Y(0)-hy, g.X(g.nx-1)+hx, g.Y(g.ny-1)+hy))
}

// histogram adds a normalised histogram of v with the given number of bins.
func addHist(p *plot.Plot, name string, v []float64, bins int, ci int) {
	vals := make(plotter.Values, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			vals = append(vals, x)
		}
	}
	if len(vals) == 0 {
		return
	}
	h, err := plotter.NewHist(vals, bins)
	if err != nil {
		panic(err)
	}
	h.Normalize(1)
	r, g, b, _ := seriesColor(ci).RGBA()
	h.FillColor = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 110}
	h.LineStyle.Color = seriesColor(ci)
	p.Add(h)
	if name != "" {
		p.Legend.Add(name, h)
	}
}

// fmtG formats a float compactly for titles.
func fmtG(v float64) string { return fmt.Sprintf("%.3g", v) }
