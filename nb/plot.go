package nb

import (
	"fmt"
	"image"

	"gonum.org/v1/plot"

	"github.com/sdekit/sdekit/viz"
)

// The pictures are drawn by package viz; the helpers below only keep the
// short names and argument orders the nb files use.

// PNG encodes img as PNG bytes (for display.PNG in a notebook, or a file).
func PNG(img image.Image) []byte { return viz.EncodePNG(img) }

// newPlot returns a panel with a title, axis labels and grid lines.
func newPlot(title, xlabel, ylabel string) *plot.Plot { return viz.NewPanel(title, xlabel, ylabel) }

// addLine adds one line series in colour ci with a legend entry, dashed if
// asked. Points a log axis cannot show are dropped by viz from the axis
// scale, so logY only records the caller's intent: set the scale first.
func addLine(p *plot.Plot, name string, x, y []float64, ci int, dash bool, logY bool) {
	viz.AddLine(p, name, x, y, ci, dash)
}

// addPoints adds markers of the given radius at (x, y) (see addLine for logY).
func addPoints(p *plot.Plot, name string, x, y []float64, ci int, radius float64, logY bool) {
	viz.AddPoints(p, name, x, y, ci, radius)
}

// addCloud adds the first two coordinates of the rows of xy (d values each)
// as small translucent dots.
func addCloud(p *plot.Plot, xy []float64, d int, ci int) { viz.AddCloud(p, xy, d, ci) }

// square sets both axes of p to [-l, l].
func square(p *plot.Plot, l float64) { viz.Square(p, l) }

// logY and logX put an axis of p on a log scale.
func logY(p *plot.Plot) { viz.LogY(p) }
func logX(p *plot.Plot) { viz.LogX(p) }

// render draws a grid of plots (rows of equal length; nil entries stay blank)
// on a w x h pixel image.
func render(grid [][]*plot.Plot, w, h int) image.Image { return viz.Render(grid, w, h) }

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

// addHeat adds a heat map of g with the colour range [lo, hi].
func addHeat(p *plot.Plot, g *gridXYZ, lo, hi float64) { viz.AddHeat(p, g, lo, hi) }

// addHist adds a normalised histogram of v with the given number of bins.
func addHist(p *plot.Plot, name string, v []float64, bins int, ci int) {
	viz.AddHist(p, name, v, bins, ci)
}

// fmtG formats a float compactly for titles.
func fmtG(v float64) string { return fmt.Sprintf("%.3g", v) }
