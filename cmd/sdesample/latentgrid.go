package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
)

// gridRows is the number of decoded samples a latent model's -plot shows.
const gridRows = 64

// writeImageGrid draws the first rows of x (rows of C*H*W values in [-1, 1],
// channel-major; grey for C = 1, the first three channels as RGB
// otherwise) as a square grid of pictures, each pixel enlarged so the grid
// is about 512 pixels wide, NaN in red, to a PNG written atomically.
// (The images branch's viz.ImageGrid does this for every sampler; once it
// is on main this can call it.)
func writeImageGrid(flagName, path string, x []float64, shape []int) error {
	if !strings.EqualFold(extOf(path), ".png") {
		return usagef("-%s %s: decoded images are drawn as a .png grid; give a .png file", flagName, path)
	}
	c, h, w := shape[0], shape[1], shape[2]
	d := c * h * w
	n := min(len(x)/d, gridRows)
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rowsN := (n + cols - 1) / cols
	zoom := max(1, 512/(cols*(w+1)))
	img := image.NewRGBA(image.Rect(0, 0, cols*(w+1)*zoom, rowsN*(h+1)*zoom))
	for i := range img.Pix {
		img.Pix[i] = 255 // white gutters
	}
	grey := func(v float64) uint8 { return uint8(math.Round(255 * math.Min(1, math.Max(0, (v+1)/2)))) }
	for k := 0; k < n; k++ {
		ox, oy := (k%cols)*(w+1)*zoom, (k/cols)*(h+1)*zoom
		row := x[k*d : (k+1)*d]
		for py := 0; py < h; py++ {
			for px := 0; px < w; px++ {
				var col color.RGBA
				v := row[py*w+px]
				switch {
				case math.IsNaN(v):
					col = color.RGBA{255, 0, 0, 255}
				case c >= 3:
					col = color.RGBA{grey(v), grey(row[h*w+py*w+px]), grey(row[2*h*w+py*w+px]), 255}
				default:
					g := grey(v)
					col = color.RGBA{g, g, g, 255}
				}
				for dy := 0; dy < zoom; dy++ {
					for dx := 0; dx < zoom; dx++ {
						img.SetRGBA(ox+px*zoom+dx, oy+py*zoom+dy, col)
					}
				}
			}
		}
	}
	of, err := createOut(flagName, path)
	if err != nil {
		return err
	}
	defer of.Abort()
	if err := png.Encode(of, img); err != nil {
		return fmt.Errorf("-%s %s: %v", flagName, path, err)
	}
	return of.Commit()
}
