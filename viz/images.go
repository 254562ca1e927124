package viz

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strings"
)

// padColor fills the gaps between the images of a grid and its empty cells.
var padColor = color.RGBA{64, 64, 96, 255}

// ImageGridOptions lays out ImageGrid.
type ImageGridOptions struct {
	// Cols is the number of images per row (0: ceil(sqrt(n))).
	Cols int
	// Scale draws each pixel as a Scale x Scale block (0: 1).
	Scale int
	// Pad is the gap in picture pixels around and between the images.
	Pad int
	// Lo and Hi map to black and full intensity; values outside are
	// clamped. NaN and infinite values are drawn red.
	Lo, Hi float64
}

// ImageGrid draws the n images in x (each c x h x w, channel after channel,
// row-major: the layout of the image data sets) as a grid: c = 1 in grey, c
// = 3 as red, green and blue. A value v becomes round(255 (v - Lo)/(Hi -
// Lo)) after clamping to [Lo, Hi].
func ImageGrid(x []float64, c, h, w int, opt ImageGridOptions) *image.RGBA {
	d := c * h * w
	if (c != 1 && c != 3) || h < 1 || w < 1 || len(x) == 0 || len(x)%d != 0 {
		panic(fmt.Sprintf("viz: ImageGrid: %d values are not images of %d x %d x %d (1 or 3 channels)", len(x), c, h, w))
	}
	if !(opt.Hi > opt.Lo) || opt.Pad < 0 || opt.Cols < 0 || opt.Scale < 0 {
		panic(fmt.Sprintf("viz: ImageGrid: range [%v, %v], pad %d, cols %d, scale %d", opt.Lo, opt.Hi, opt.Pad, opt.Cols, opt.Scale))
	}
	n := len(x) / d
	cols, s := opt.Cols, max(opt.Scale, 1)
	if cols == 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	cw, ch := w*s+opt.Pad, h*s+opt.Pad
	img := image.NewRGBA(image.Rect(0, 0, cols*cw+opt.Pad, rows*ch+opt.Pad))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = padColor.R, padColor.G, padColor.B, padColor.A
	}
	level := func(v float64) uint8 {
		return uint8(math.Round(255 * (min(max(v, opt.Lo), opt.Hi) - opt.Lo) / (opt.Hi - opt.Lo)))
	}
	for k := range n {
		x0, y0 := opt.Pad+(k%cols)*cw, opt.Pad+(k/cols)*ch
		im := x[k*d : (k+1)*d]
		for r := range h {
			for q := range w {
				var px color.RGBA
				bad := false
				var lv [3]uint8
				for ci := range c {
					v := im[ci*h*w+r*w+q]
					if math.IsNaN(v) || math.IsInf(v, 0) {
						bad = true
					}
					lv[ci] = level(v)
				}
				switch {
				case bad:
					px = color.RGBA{255, 0, 0, 255}
				case c == 1:
					px = color.RGBA{lv[0], lv[0], lv[0], 255}
				default:
					px = color.RGBA{lv[0], lv[1], lv[2], 255}
				}
				for dy := range s {
					for dx := range s {
						img.SetRGBA(x0+q*s+dx, y0+r*s+dy, px)
					}
				}
			}
		}
	}
	return img
}

// SaveImage writes img to a .png file atomically (a temporary file in the
// same folder renamed into place).
func SaveImage(path string, img image.Image) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".png" {
		return fmt.Errorf("viz: %s: an image grid is written as PNG; use a name ending in .png", path)
	}
	return writeAtomic(path, EncodePNG(img))
}
