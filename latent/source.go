package latent

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
)

// Source is a data source in latent space: each draw takes a row x of the
// data, encodes it and returns z = s u with u ~ q(u | x) = N(mu(x),
// diag sigma^2(x)) and s the autoencoder's scale factor. It is what a score
// network trains on (score.TrainConfig.Data): the batches are encoded on
// the fly. Not safe for concurrent use.
type Source struct {
	ae   *model.Autoencoder
	data data.Source
	x    []float64 // scratch: a batch of data
	lv   []float64 // scratch: its latents' log-variances
}

// ImageSource is the Source of a convolutional autoencoder, whose latent
// rows are small images: it also tells their shape, so that an image
// network (a U-Net) can be built on them.
type ImageSource struct{ *Source }

// ImageShape returns the latent image shape (LatentChannels, H/f, W/f).
func (s ImageSource) ImageShape() (c, h, w int) {
	sh := s.ae.LatentShape()
	return sh[0], sh[1], sh[2]
}

// NewSource returns the latent source of src under ae: a *Source, or an
// ImageSource when ae is convolutional (its latents are images). ae must
// have the data's dimension and a scale factor (a trained autoencoder).
func NewSource(ae *model.Autoencoder, src data.Source) (data.Source, error) {
	s, err := newSource(ae, src)
	if err != nil {
		return nil, err
	}
	if ae.LatentShape() != nil {
		return ImageSource{s}, nil
	}
	return s, nil
}

func newSource(ae *model.Autoencoder, src data.Source) (*Source, error) {
	if ae.Dim() != src.Dim() {
		return nil, fmt.Errorf("latent: the autoencoder encodes rows of %d values but the data %s have %d; train an autoencoder on these data", ae.Dim(), src.Name(), src.Dim())
	}
	if !(ae.ScaleFactor() > 0) {
		return nil, errors.New("latent: the autoencoder has no scale factor; train it with latent.Train (sdesample autoencoder)")
	}
	return &Source{ae: ae, data: src}, nil
}

// Name returns "latent:" and the data's name.
func (s *Source) Name() string { return "latent:" + s.data.Name() }

// Dim returns the latent dimension K.
func (s *Source) Dim() int { return s.ae.Latent() }

// Sample writes n scaled latents (n x K) into dst: the data's n rows drawn
// with r, then n*K normal draws of r for the posterior noise.
func (s *Source) Sample(dst []float64, n int, r *rand.Rand) {
	if n < 0 || len(dst) < n*s.Dim() {
		panic(fmt.Sprintf("latent: Source.Sample: n = %d, len(dst) = %d, want n >= 0 and len >= n*%d", n, len(dst), s.Dim()))
	}
	if n == 0 {
		return
	}
	d, k := s.ae.Dim(), s.ae.Latent()
	if len(s.x) < n*d {
		s.x = make([]float64, n*d)
	}
	x, z := s.x[:n*d], dst[:n*k]
	s.data.Sample(x, n, r)
	if len(s.lv) < n*k {
		s.lv = make([]float64, n*k)
	}
	sampleLatents(s.ae, z, s.lv[:n*k], x, r.NormFloat64)
	sf := s.ae.ScaleFactor()
	for i := range z {
		z[i] *= sf
	}
}

// EncodeMeanTo writes z = s mu(x) (n x K), the scaled posterior mean, for
// the n rows of x (n x D): the point at which a latent likelihood is taken.
func EncodeMeanTo(ae *model.Autoencoder, z, x []float64) {
	ae.EncodeTo(z, nil, x)
	sf := ae.ScaleFactor()
	for i := range z {
		z[i] *= sf
	}
}

// DecodeTo writes D(z/s) (n x D) for the n scaled latents z (n x K): a
// latent sample mapped back to data space.
func DecodeTo(ae *model.Autoencoder, dst, z []float64) {
	u := make([]float64, len(z))
	inv := 1 / ae.ScaleFactor()
	for i, v := range z {
		u[i] = v * inv
	}
	ae.DecodeTo(dst, u)
}
