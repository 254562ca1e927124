package viz

import (
	"bytes"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestImageGrid(t *testing.T) {
	// Three 1 x 2 x 2 grey images on [-1, 1] in 2 columns, scale 2, pad 1:
	// the grid is 2 (2 * 2 + 1) + 1 = 11 wide and 2 rows likewise 11 high.
	x := []float64{
		-1, 1, 0, 1, // image 0: black, white / mid-grey, white
		1, 1, 1, 1,
		-1, -1, -1, math.NaN(), // image 2: a NaN pixel drawn red
	}
	img := ImageGrid(x, 1, 2, 2, ImageGridOptions{Cols: 2, Scale: 2, Pad: 1, Lo: -1, Hi: 1})
	if b := img.Bounds(); b.Dx() != 11 || b.Dy() != 11 {
		t.Fatalf("size %v, want 11 x 11", b)
	}
	grey := func(v uint8) color.RGBA { return color.RGBA{v, v, v, 255} }
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{
		{0, 0, padColor},                   // the border
		{1, 1, grey(0)},                    // image 0, pixel (0, 0): -1 -> black
		{2, 2, grey(0)},                    // same pixel, scaled 2x
		{3, 1, grey(255)},                  // pixel (0, 1): 1 -> white
		{1, 3, grey(128)},                  // pixel (1, 0): 0 -> 127.5 rounds to 128
		{6, 1, grey(255)},                  // image 1 starts at x = 1 + 4 + 1 = 6
		{5, 1, padColor},                   // the gap between images
		{1, 6, grey(0)},                    // image 2: second row
		{3, 8, color.RGBA{255, 0, 0, 255}}, // its NaN pixel (1, 1)
		{7, 7, padColor},                   // the empty fourth cell
	} {
		if got := color.RGBAModel.Convert(img.At(c.x, c.y)).(color.RGBA); got != c.want {
			t.Errorf("pixel (%d, %d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	// RGB: channel planes map to red, green and blue; values clamp to [lo, hi].
	rgb := ImageGrid([]float64{1, 0, 5}, 3, 1, 1, ImageGridOptions{Cols: 1, Scale: 1, Pad: 0, Lo: 0, Hi: 1})
	if got := color.RGBAModel.Convert(rgb.At(0, 0)).(color.RGBA); got != (color.RGBA{255, 0, 255, 255}) {
		t.Errorf("rgb pixel %v", got)
	}
}

func TestSaveImage(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "g.png")
	img := ImageGrid(make([]float64, 4*9), 1, 3, 3, ImageGridOptions{Lo: -1, Hi: 1})
	if err := SaveImage(p, img); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	dec, err := png.Decode(bytes.NewReader(b))
	if err != nil || dec.Bounds() != img.Bounds() {
		t.Fatalf("decoded %v, %v", dec, err)
	}
	if err := SaveImage(filepath.Join(dir, "g.svg"), img); err == nil {
		t.Fatal("SaveImage wrote an .svg")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) != 0 {
		t.Fatalf("left %v", m)
	}
}
