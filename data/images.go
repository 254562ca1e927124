package data

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// ImageLevels is the number of grey levels of the 8-bit image sets.
const ImageLevels = 256

// Images is a set of N 8-bit images of C channels of H x W pixels, stored
// image after image, each channel after channel, row-major (D = C H W), with
// a class label per image when the set has them.
type Images struct {
	Name       string
	N, C, H, W int
	Pix        []uint8 // N x D
	Labels     []int   // N labels in 0..len(Classes)-1, or nil
	Classes    []string
}

// Dim is the number of values of one image, C H W.
func (m *Images) Dim() int { return m.C * m.H * m.W }

// ImageShape returns the image shape (channels, height, width).
func (m *Images) ImageShape() (c, h, w int) { return m.C, m.H, m.W }

// RowTo writes image i scaled to [-1, 1], 2v/255 - 1: the 256 levels on the
// grid of likelihood.DataSpec{Lo: -1, Hi: 1, Bits: 8} (both ends included).
func (m *Images) RowTo(dst []float64, i int) {
	d := m.Dim()
	if i < 0 || i >= m.N || len(dst) < d {
		panic(fmt.Sprintf("data: Images.RowTo: row %d of %d into %d values (want %d)", i, m.N, len(dst), d))
	}
	for j, v := range m.Pix[i*d : (i+1)*d] {
		dst[j] = float64(v)*(2.0/255) - 1
	}
}

// Table returns the whole set scaled as RowTo, in order, with a copy of the
// labels (N x D float64: 8 bytes a pixel, 376 MB for the 60,000
// Fashion-MNIST training images).
func (m *Images) Table() *Table {
	t := NewTable(m.N, m.Dim())
	t.Name = m.Name
	t.Labels = append([]int(nil), m.Labels...)
	for i := range m.N {
		m.RowTo(t.Row(i), i)
	}
	return t
}

// newImages checks an image array (n, h, w) or (n, c, h, w) of uint8 and,
// when given, a label array (n,) of uint8 below classes.
func newImages(name string, img, lab *IDX, imgPath, labPath string, classes []string) (*Images, error) {
	if img.Type != IDXUint8 {
		return nil, fileErr(imgPath, fmt.Sprintf("IDX type %#02x; images must be 08 (uint8)", img.Type), nil)
	}
	m := &Images{Name: name, C: 1, Pix: img.Data, Classes: classes}
	switch len(img.Dims) {
	case 3:
		m.N, m.H, m.W = img.Dims[0], img.Dims[1], img.Dims[2]
	case 4:
		m.N, m.C, m.H, m.W = img.Dims[0], img.Dims[1], img.Dims[2], img.Dims[3]
	default:
		return nil, fileErr(imgPath, fmt.Sprintf("%d dimensions; images must be (n, height, width) or (n, channels, height, width)", len(img.Dims)), nil)
	}
	if lab == nil {
		return m, nil
	}
	if lab.Type != IDXUint8 || len(lab.Dims) != 1 {
		return nil, fileErr(labPath, fmt.Sprintf("IDX type %#02x with %d dimensions; labels must be one uint8 (08) per image", lab.Type, len(lab.Dims)), nil)
	}
	if lab.Dims[0] != m.N {
		return nil, fileErr(labPath, fmt.Sprintf("%d labels for the %d images of %s; the two files must come from the same set", lab.Dims[0], m.N, imgPath), nil)
	}
	m.Labels = make([]int, m.N)
	for i, v := range lab.Data {
		if int(v) >= len(classes) {
			return nil, elemErr(labPath, i, -1, fmt.Sprintf("label %d; want 0..%d", v, len(classes)-1))
		}
		m.Labels[i] = int(v)
	}
	return m, nil
}

// ImageSource draws the images of a set uniformly with replacement, scaled
// to [-1, 1]. Without Dequantize a pixel v becomes 2v/255 - 1 (Images.RowTo);
// with it, -1 + 2(v + u)/256, u ~ U[0, 1) (one r.Float64() per pixel): the
// uniform dequantisation of Theis et al. (2016) on the bins of
// likelihood.DataSpec{Lo: -1, Hi: 1, Bits: 8}, the density whose test-set
// log-likelihood gives bits/dim with offset 7 (score_sde's convention).
type ImageSource struct {
	Set        *Images
	Dequantize bool
}

func (s ImageSource) Name() string { return s.Set.Name }
func (s ImageSource) Dim() int     { return s.Set.Dim() }

// Classes returns the number of classes of the set's labels (0: none).
func (s ImageSource) Classes() int {
	if s.Set.Labels == nil {
		return 0
	}
	return len(s.Set.Classes)
}

// ImageShape returns the image shape (channels, height, width) of the rows.
func (s ImageSource) ImageShape() (c, h, w int) { return s.Set.ImageShape() }

// Sample draws n images: an index r.IntN(N) for each, then, with
// Dequantize, D r.Float64().
func (s ImageSource) Sample(dst []float64, n int, r *rand.Rand) {
	s.SampleLabeled(dst, nil, n, r)
}

// SampleLabeled is Sample that also writes each drawn image's label into
// labels (when labels is not nil; it needs n entries and the set labels).
// The images drawn are those Sample draws with the same r.
func (s ImageSource) SampleLabeled(dst []float64, labels []int, n int, r *rand.Rand) {
	m := s.Set
	d := m.Dim()
	checkDst("ImageSource", dst, n, d)
	if labels != nil && (len(labels) < n || m.Labels == nil) {
		panic(fmt.Sprintf("data: ImageSource.SampleLabeled: %d labels for %d rows of a set with %d labels", len(labels), n, len(m.Labels)))
	}
	const w = 2.0 / ImageLevels
	for i := range n {
		k := r.IntN(m.N)
		row := dst[i*d : (i+1)*d]
		if !s.Dequantize {
			m.RowTo(row, k)
		} else {
			for j, v := range m.Pix[k*d : (k+1)*d] {
				row[j] = (float64(v)+r.Float64())*w - 1
			}
		}
		if labels != nil {
			labels[i] = m.Labels[k]
		}
	}
}

// ShapeOf returns the image shape (channels, height, width) of the rows of
// a built-in source by name, the digits (1, 8, 8) or "fashion-mnist" and
// "fashion-mnist-test" (1, 28, 28), without reading any file; whatever
// follows a comma is ignored (a checkpoint records "fashion-mnist,dequant=uniform").
// ok is false for sources whose rows are not images.
func ShapeOf(spec string) (c, h, w int, ok bool) {
	name, _, _ := strings.Cut(spec, ",")
	switch name {
	case "digits", "digits-train", "digits-test":
		return 1, 8, 8, true
	case "fashion-mnist", "fashion-mnist-test":
		return 1, 28, 28, true
	}
	return 0, 0, 0, false
}
