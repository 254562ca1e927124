package latent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/model"
)

// aePurpose separates the autoencoder trainer's streams from the others
// ("autoenc").
const aePurpose rng.Purpose = 0x6175746f656e63

// Defaults of TrainConfig's zero fields.
const (
	DefaultBatch     = 128
	DefaultLR        = 1e-3
	DefaultScaleRows = 4096
)

// TrainConfig describes an autoencoder training run.
type TrainConfig struct {
	Data  data.Source        // training rows x, Dim = Model.Dim()
	Model *model.Autoencoder // trained in place
	Steps int                // optimiser steps, >= 1
	Batch int                // rows per step; 0 means DefaultBatch
	LR    float64            // Adam's learning rate; 0 means DefaultLR
	Seed  uint64             // step k draws its rows and noise from stream (Seed, k)
	// ScaleRows is the number of training rows whose latents fix the scale
	// factor after training; 0 means DefaultScaleRows.
	ScaleRows int
	// MaxTime, when > 0, stops the run at the first step boundary after
	// that much wall time since Train began; the scale factor is then
	// computed as at the end of a full run, so the result is the run of
	// Steps = the steps done (the last progress report's Step, the
	// optimiser's T).
	MaxTime time.Duration
}

// TrainProgress is what Train reports after each step.
type TrainProgress struct {
	Step           int     // steps done
	Loss, Rec, KL  float64 // the batch's loss and its parts (model.Autoencoder.TrainLoss)
	GradNorm       float64 // before the update
	ScaleFactorSet bool    // true on the last report, after the scale factor is computed (Step: the steps done)
}

// Train fits cfg.Model by Adam on L = rec + beta KL (model.Autoencoder.
// TrainLoss; the reparameterisation noise xi is drawn per row and step),
// then computes and stores its scale factor from ScaleRows training rows
// (ScaleFactor). It returns the optimiser (for a checkpoint; its T is the
// steps done). progress (optional) can stop the run by returning an error.
func Train(ctx context.Context, cfg TrainConfig, progress func(TrainProgress) error) (*model.Adam, error) {
	if cfg.Model == nil || cfg.Data == nil {
		return nil, errors.New("latent: Train: Model and Data are required")
	}
	if cfg.Data.Dim() != cfg.Model.Dim() {
		return nil, fmt.Errorf("latent: the data %s have %d values per row but the autoencoder %d", cfg.Data.Name(), cfg.Data.Dim(), cfg.Model.Dim())
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.LR == 0 {
		cfg.LR = DefaultLR
	}
	if cfg.ScaleRows == 0 {
		cfg.ScaleRows = DefaultScaleRows
	}
	if cfg.Steps < 1 || cfg.Batch < 1 || !(cfg.LR > 0) || cfg.ScaleRows < 2 || cfg.MaxTime < 0 {
		return nil, fmt.Errorf("latent: Train: Steps = %d, Batch = %d, LR = %g, ScaleRows = %d, MaxTime = %v; want Steps, Batch >= 1, LR > 0, ScaleRows >= 2, MaxTime >= 0", cfg.Steps, cfg.Batch, cfg.LR, cfg.ScaleRows, cfg.MaxTime)
	}
	start := time.Now()
	a := cfg.Model
	d, k := a.Dim(), a.Latent()
	x := make([]float64, cfg.Batch*d)
	xi := make([]float64, cfg.Batch*k)
	opt := model.NewAdam(cfg.LR)
	st := rng.NewStream(cfg.Seed, 0, aePurpose)
	done := 0
	for step := 0; step < cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st.Reset(cfg.Seed, step, aePurpose)
		cfg.Data.Sample(x, cfg.Batch, st.R)
		rng.FillNormal(st.R, xi)
		a.ZeroGrad()
		loss, rec, kl := a.TrainLoss(x, xi)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("latent: the loss is %v at step %d; lower the learning rate", loss, step+1)
		}
		gn, err := opt.Update(a.Params(), a.Grads())
		if err != nil {
			return nil, fmt.Errorf("latent: step %d: %w", step+1, err)
		}
		a.SyncParams()
		done = step + 1
		if progress != nil {
			if err := progress(TrainProgress{Step: done, Loss: loss, Rec: rec, KL: kl, GradNorm: gn}); err != nil {
				return nil, err
			}
		}
		if cfg.MaxTime > 0 && time.Since(start) >= cfg.MaxTime {
			break
		}
	}
	// The scale factor from rows of its own stream (step index: the steps
	// done, so that a run stopped by MaxTime is the run of that many steps).
	st.Reset(cfg.Seed, done, aePurpose)
	xs := make([]float64, cfg.ScaleRows*d)
	cfg.Data.Sample(xs, cfg.ScaleRows, st.R)
	u := make([]float64, cfg.ScaleRows*k)
	SampleLatentsTo(a, u, xs, st.R.NormFloat64)
	s := ScaleFactor(u)
	if !(s > 0) || math.IsInf(s, 0) {
		return nil, fmt.Errorf("latent: the training latents have standard deviation %v; the scale factor 1/std is not finite (a collapsed encoder: raise -steps or lower -kl)", 1/s)
	}
	a.SetScaleFactor(s)
	if progress != nil {
		if err := progress(TrainProgress{Step: done, ScaleFactorSet: true}); err != nil {
			return nil, err
		}
	}
	return opt, nil
}

// ScaleFactor returns 1/std of the values u (all coordinates of all rows
// pooled, std about their mean with the n-1 divisor): Rombach et al. 2022's
// rescaling of the first stage's latents to unit variance.
func ScaleFactor(u []float64) float64 {
	var mean float64
	for _, v := range u {
		mean += v
	}
	mean /= float64(len(u))
	var ss float64
	for _, v := range u {
		ss += (v - mean) * (v - mean)
	}
	return 1 / math.Sqrt(ss/float64(len(u)-1))
}

// SampleLatentsTo writes u = mu + sigma xi, a draw of q(u | x) per row of x
// (n x D) into u (n x K), with xi from normal (called n*K times, row by row).
func SampleLatentsTo(a *model.Autoencoder, u, x []float64, normal func() float64) {
	sampleLatents(a, u, make([]float64, len(u)), x, normal)
}

// sampleLatents is SampleLatentsTo with the log-variances' scratch lv
// (len(u)) given, for a caller that draws every training step.
func sampleLatents(a *model.Autoencoder, u, lv, x []float64, normal func() float64) {
	a.EncodeTo(u, lv, x)
	for i, l := range lv {
		u[i] += math.Exp(0.5*l) * normal()
	}
}
