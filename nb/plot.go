package nb

import (
	"fmt"
	"image"

	"github.com/sdekit/sdekit/viz"
)

// PNG encodes an image as PNG bytes, for display.PNG in a notebook. The
// pictures themselves are drawn with package viz, the one plotting stack.
func PNG(img image.Image) []byte { return viz.EncodePNG(img) }

// fmtG formats a float compactly for titles.
func fmtG(v float64) string { return fmt.Sprintf("%.3g", v) }
