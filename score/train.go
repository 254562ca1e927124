package score

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sde"
)

// Defaults of TrainConfig.
const (
	DefaultBatch = 256
	DefaultLR    = 2e-4
)

// trainPurpose separates the trainer's streams from the sampling,
// probe, dequantisation and data streams of package rng ("train").
const trainPurpose rng.Purpose = 0x747261696e

// TrainConfig describes a training run.
type TrainConfig struct {
	SDE   sde.SDE
	Param Param      // "" means DefaultParam(SDE)
	Loss  LossConfig // zero value: dsm with lambda = sigma^2
	Data  data.Source
	// DataSpec names the data in the checkpoint's metadata (the -data flag);
	// "" means Data.Name().
	DataSpec string
	// LabelDropout is the probability p with which a conditional run
	// replaces a row's label by NullLabel (Ho & Salimans 2022: the one
	// network then learns the unconditional score too, for classifier-free
	// guidance; they use 0.1 or 0.2). A run is conditional when Model is a
	// model.ConditionalTrainable with Classes() > 0; Data must then be a
	// data.LabeledSource with at most that many classes. In [0, 1).
	LabelDropout float64
	// Autoencoder is recorded in the checkpoint's metadata when Data is a
	// latent source (latent.Source): the first stage its samples need.
	Autoencoder *AutoencoderRef

	// Model is the network to train, of any registered kind (an MLP from
	// model.NewTrainable, or an architecture of your own registered with
	// model.Register); its Dim must be Data.Dim(). The trainer trains a
	// clone (with Model's Workers) and leaves Model itself unchanged; its
	// checkpoints record the network's Kind and MarshalConfig.
	Model model.Trainable

	Steps    int     // total number of optimiser steps of the run, >= 1
	Batch    int     // rows per step; 0 means 256
	LR       float64 // Adam's learning rate; 0 means 2e-4
	Warmup   int     // linear learning-rate warm-up steps (0: none)
	ClipNorm float64 // global gradient-norm clipping (0: none)
	EMA      float64 // EMA decay of the weights sampling uses, in (0, 1); 0: no EMA
	Seed     uint64  // batch k is drawn from the stream (Seed, k)

	// CheckpointEvery > 0 saves a checkpoint to CheckpointPath after every
	// CheckpointEvery steps (not after the last one: the caller saves that).
	CheckpointEvery int
	CheckpointPath  string

	// Diverge stops Run with a *DivergedError when the mean loss of the
	// last 100 steps exceeds Diverge times the lowest of the run's first
	// loss and every earlier such mean (a learning rate far too large:
	// -lr 10 ran to a mean loss of 3e11 and exited as if trained; its loss
	// explodes in the first hundred steps, so the first loss, that of the
	// untrained network, is the reference). 0 selects 1e3; +Inf turns the
	// guard off. A loss that falls, however slowly, never trips it.
	Diverge float64

	// MaxTime > 0 ends Run at the first step boundary after MaxTime of
	// running (as latent.TrainConfig.MaxTime): Run then returns nil with
	// Step() < Steps, and a checkpoint of that state resumes to Steps bit for
	// bit as if it had not stopped. 0: no limit.
	MaxTime time.Duration
}

// DefaultDiverge is the ratio of TrainConfig.Diverge's default.
const DefaultDiverge = 1e3

// divergeWindow is the number of steps whose mean loss the guard watches:
// long enough that one bad batch does not stop a run.
const divergeWindow = 100

// DivergedError reports a training run whose loss exploded.
type DivergedError struct {
	Step       int     // the step it was noticed at
	Mean, Best float64 // the mean loss of the last 100 steps, and the reference it is compared with
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("score: training diverged at step %d: the mean loss of the last %d steps is %.3g, %.0f times the lowest before it (%.3g); lower the learning rate or set a gradient clip", e.Step, divergeWindow, e.Mean, e.Mean/e.Best, e.Best)
}

// TrainProgress is what the progress callback of Run receives after each step.
type TrainProgress struct {
	Step     int     // steps done, 1..Steps
	Steps    int     // the run's total
	Loss     float64 // this step's batch loss
	GradNorm float64 // gradient norm before clipping
}

// NonFiniteError reports a NaN or infinite loss or gradient and the step it
// appeared at (1-based: the step that would have made Step() equal to Step).
type NonFiniteError struct {
	Step  int
	What  string // "loss" or "gradient norm"
	Value float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("score: training step %d: %s is %v; lower the learning rate, set a gradient clip, or check the data for NaN or huge values", e.Step, e.What, e.Value)
}

// Trainer runs denoising score matching with Adam and an EMA of the weights.
//
// Step k (0-based) draws its whole batch, data rows then times then noise,
// from the stream rng.New(Seed, k, purpose "train"), so a run resumed from a
// checkpoint at step k continues bit for bit as the uninterrupted run: the
// checkpoint carries the parameters, Adam's moments and step count, the EMA
// and k, and nothing else is random.
//
// A Trainer is not safe for concurrent use.
type Trainer struct {
	cfg  TrainConfig
	meta TrainMeta
	net  model.Trainable
	opt  *model.Adam
	ema  *model.EMA
	loss *Loss
	step int

	stream                  *rng.Stream
	x0, t, z, xt, out, dOut []float64

	// A conditional run: the network as a ConditionalTrainable, the labeled
	// data, and the batch's labels.
	cnet   model.ConditionalTrainable
	ldata  data.LabeledSource
	labels []int
}

// normalize checks cfg and fills in its defaults.
func (cfg TrainConfig) normalize() (TrainConfig, error) {
	if cfg.SDE == nil {
		return cfg, errors.New("score: TrainConfig.SDE is nil")
	}
	if cfg.Data == nil {
		return cfg, errors.New("score: TrainConfig.Data is nil")
	}
	if err := cfg.SDE.Validate(); err != nil {
		return cfg, fmt.Errorf("score: %w", err)
	}
	if _, err := SpecOf(cfg.SDE); err != nil {
		return cfg, err
	}
	if cfg.Param == "" {
		cfg.Param = DefaultParam(cfg.SDE)
	}
	if _, err := ParseParam(string(cfg.Param)); err != nil {
		return cfg, err
	}
	cfg.Loss = cfg.Loss.WithDefaults()
	if cfg.DataSpec == "" {
		cfg.DataSpec = cfg.Data.Name()
	}
	if cfg.Model == nil {
		return cfg, errors.New("score: TrainConfig.Model is nil; build the network first, for instance model.NewTrainable(model.Config{Dim: 2, Hidden: []int{128, 128}, Seed: 1})")
	}
	if d := cfg.Model.Dim(); d != cfg.Data.Dim() {
		return cfg, fmt.Errorf("score: the network has dimension %d but the data %s has %d; build the network with the data's dimension", d, cfg.DataSpec, cfg.Data.Dim())
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.LR == 0 {
		cfg.LR = DefaultLR
	}
	switch {
	case cfg.Steps < 1:
		return cfg, fmt.Errorf("score: Steps = %d; train for at least 1 step", cfg.Steps)
	case cfg.Batch < 1:
		return cfg, fmt.Errorf("score: Batch = %d; use at least 1 row", cfg.Batch)
	case !(cfg.LR > 0) || math.IsInf(cfg.LR, 0):
		return cfg, fmt.Errorf("score: learning rate %v must be finite and > 0", cfg.LR)
	case cfg.Warmup < 0:
		return cfg, fmt.Errorf("score: Warmup = %d must be >= 0", cfg.Warmup)
	case cfg.MaxTime < 0:
		return cfg, fmt.Errorf("score: MaxTime = %v must be >= 0 (0: no limit)", cfg.MaxTime)
	case !(cfg.ClipNorm >= 0) || math.IsInf(cfg.ClipNorm, 0):
		return cfg, fmt.Errorf("score: ClipNorm = %v must be finite and >= 0 (0: no clipping)", cfg.ClipNorm)
	case cfg.Diverge != 0 && !(cfg.Diverge > 1):
		return cfg, fmt.Errorf("score: Diverge = %v must be > 1 (0 selects %g, +Inf turns the guard off)", cfg.Diverge, DefaultDiverge)
	case !(cfg.EMA >= 0 && cfg.EMA < 1):
		return cfg, fmt.Errorf("score: EMA decay %v must lie in [0, 1) (0: no EMA)", cfg.EMA)
	case cfg.CheckpointEvery < 0:
		return cfg, fmt.Errorf("score: CheckpointEvery = %d must be >= 0", cfg.CheckpointEvery)
	case cfg.CheckpointEvery > 0 && cfg.CheckpointPath == "":
		return cfg, errors.New("score: CheckpointEvery is set but CheckpointPath is empty")
	case !(cfg.LabelDropout >= 0 && cfg.LabelDropout < 1):
		return cfg, fmt.Errorf("score: LabelDropout = %v must lie in [0, 1)", cfg.LabelDropout)
	}
	if c := modelClasses(cfg.Model); c > 0 {
		ls, err := data.Labeled(cfg.Data)
		if err != nil {
			return cfg, fmt.Errorf("score: a conditional network needs labeled data: %w", err)
		}
		if ls.Classes() > c {
			return cfg, fmt.Errorf("score: the data %s has %d classes but the network %d; build the network with Classes = %d", cfg.DataSpec, ls.Classes(), c, ls.Classes())
		}
	} else if cfg.LabelDropout != 0 {
		return cfg, errors.New("score: LabelDropout is set but the network is not conditional (model.Config.Classes = 0)")
	}
	return cfg, nil
}

// modelClasses returns the number of classes of a conditional network, 0
// for an unconditional one.
func modelClasses(m model.Trainable) int {
	if c, ok := m.(model.ConditionalTrainable); ok {
		return c.Classes()
	}
	return 0
}

// NewTrainer returns a trainer at step 0 that trains a clone of cfg.Model,
// starting from its weights.
func NewTrainer(cfg TrainConfig) (*Trainer, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	net := model.CloneTrainable(cfg.Model)
	net.SetWorkers(cfg.Model.Workers())
	opt := model.NewAdam(cfg.LR)
	opt.Warmup, opt.ClipNorm = cfg.Warmup, cfg.ClipNorm
	var ema *model.EMA
	if cfg.EMA > 0 {
		ema = model.NewEMA(net, cfg.EMA)
	}
	return newTrainer(cfg, net, opt, ema, 0)
}

// ResumeTrainer returns a trainer that continues the run saved in ck. cfg
// must describe the same run (SDE, parameterisation, loss, data, seed, batch,
// network and optimiser settings); only Steps, the checkpoint settings and
// the data source object may differ. cfg.Model must be a network of the
// checkpoint's kind and config (its weights do not matter: they come from
// ck). Continuing to the same Steps gives bit for bit the parameters of the
// uninterrupted run.
func ResumeTrainer(cfg TrainConfig, ck *model.Checkpoint) (*Trainer, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	meta, err := ReadMeta(ck)
	if err != nil {
		return nil, fmt.Errorf("score: resume: %w", err)
	}
	if ck.Adam == nil {
		return nil, errors.New("score: resume: the checkpoint has no optimiser state")
	}
	if err := sameRun(cfg, meta, ck); err != nil {
		return nil, fmt.Errorf("score: resume: %w", err)
	}
	if ck.Step > cfg.Steps {
		return nil, fmt.Errorf("score: resume: the checkpoint is at step %d, beyond Steps = %d", ck.Step, cfg.Steps)
	}
	net, err := ck.Net()
	if err != nil {
		return nil, fmt.Errorf("score: resume: %w", err)
	}
	if err := sameNet(cfg.Model, net); err != nil {
		return nil, fmt.Errorf("score: resume: %w", err)
	}
	net.SetWorkers(cfg.Model.Workers())
	c, err := model.NewCheckpoint(net, ck.Step, ck.Adam, ck.EMA) // deep copies of the state
	if err != nil {
		return nil, fmt.Errorf("score: resume: %w", err)
	}
	return newTrainer(cfg, net, c.Adam, c.EMA, ck.Step)
}

// sameRun reports the first setting in which cfg differs from the run that
// wrote ck.
func sameRun(cfg TrainConfig, m *TrainMeta, ck *model.Checkpoint) error {
	diff := func(what string, have, want any) error {
		return fmt.Errorf("%s is %v in the checkpoint but %v now; a resumed run must keep the settings of the original", what, want, have)
	}
	if sp, _ := SpecOf(cfg.SDE); !sameSDE(sp, m.SDE) { // normalize checked SpecOf
		return diff("the SDE", sp, m.SDE)
	}
	if cfg.Param != m.Param {
		return diff("the parameterisation", cfg.Param, m.Param)
	}
	if cfg.Loss != m.Loss.WithDefaults() {
		return diff("the loss", fmt.Sprintf("%+v", cfg.Loss), fmt.Sprintf("%+v", m.Loss.WithDefaults()))
	}
	if cfg.DataSpec != m.Data {
		return diff("the data", cfg.DataSpec, m.Data)
	}
	if a, b := cfg.Autoencoder, m.Autoencoder; (a == nil) != (b == nil) || (a != nil && a.SHA256 != b.SHA256) {
		return diff("the autoencoder", a, b)
	}
	if cfg.Seed != m.Seed {
		return diff("the seed", cfg.Seed, m.Seed)
	}
	if cfg.Batch != m.Batch {
		return diff("the batch size", cfg.Batch, m.Batch)
	}
	a := ck.Adam
	if cfg.LR != a.LR {
		return diff("the learning rate", cfg.LR, a.LR)
	}
	if cfg.Warmup != a.Warmup {
		return diff("the warm-up", cfg.Warmup, a.Warmup)
	}
	if cfg.ClipNorm != a.ClipNorm {
		return diff("the gradient clip", cfg.ClipNorm, a.ClipNorm)
	}
	decay := 0.0
	if ck.EMA != nil {
		decay = ck.EMA.Decay
	}
	if cfg.EMA != decay {
		return diff("the EMA decay", cfg.EMA, decay)
	}
	if cfg.LabelDropout != m.LabelDropout {
		return diff("the label dropout", cfg.LabelDropout, m.LabelDropout)
	}
	return nil
}

// sameNet reports whether have (the run's network) and saved (rebuilt from
// the checkpoint) are of the same kind and config. Both configs come from
// MarshalConfig of this build, so equal bytes mean the same network.
func sameNet(have, saved model.Trainable) error {
	a, err := have.MarshalConfig()
	if err != nil {
		return fmt.Errorf("the %s network's config: %w", have.Kind(), err)
	}
	b, err := saved.MarshalConfig()
	if err != nil {
		return fmt.Errorf("the %s network's config: %w", saved.Kind(), err)
	}
	if have.Kind() != saved.Kind() || !bytes.Equal(a, b) {
		return fmt.Errorf("the network is %s %s in the checkpoint but %s %s now; a resumed run must keep the settings of the original",
			saved.Kind(), b, have.Kind(), a)
	}
	return nil
}

func newTrainer(cfg TrainConfig, net model.Trainable, opt *model.Adam, ema *model.EMA, step int) (*Trainer, error) {
	loss, err := NewLoss(cfg.SDE, cfg.Param, cfg.Loss)
	if err != nil {
		return nil, err
	}
	n, d := cfg.Batch, net.Dim()
	spec, _ := SpecOf(cfg.SDE) // normalize checked it
	tr := &Trainer{
		cfg: cfg, net: net, opt: opt, ema: ema, loss: loss, step: step,
		meta: TrainMeta{Format: metaFormat, SDE: spec, Param: cfg.Param, Loss: cfg.Loss,
			Data: cfg.DataSpec, Seed: cfg.Seed, Batch: cfg.Batch, Steps: cfg.Steps, Autoencoder: cfg.Autoencoder},
		stream: rng.NewStream(cfg.Seed, 0, trainPurpose),
		x0:     make([]float64, n*d), t: make([]float64, n), z: make([]float64, n*d),
		xt: make([]float64, n*d), out: make([]float64, n*d), dOut: make([]float64, n*d),
	}
	if modelClasses(net) > 0 {
		tr.cnet = net.(model.ConditionalTrainable)
		tr.ldata, _ = data.Labeled(cfg.Data) // normalize checked it
		tr.labels = make([]int, n)
		tr.meta.Classes, tr.meta.LabelDropout = tr.cnet.Classes(), cfg.LabelDropout
	}
	return tr, nil
}

// Config returns the run's configuration, defaults filled in.
func (tr *Trainer) Config() TrainConfig { return tr.cfg }

// Step returns the number of steps taken.
func (tr *Trainer) Step() int { return tr.step }

// Loss returns the loss being minimised.
func (tr *Trainer) Loss() *Loss { return tr.loss }

// Model returns the network being trained (not a copy: do not use it while
// training, and clone it to keep it).
func (tr *Trainer) Model() model.Trainable { return tr.net }

// Batch writes step k's training batch (data rows x0, times t, noise z, as
// the trainer draws them) into the given slices of Batch rows.
func (tr *Trainer) Batch(k int, x0, t, z []float64) {
	var labels []int
	if tr.cnet != nil {
		labels = make([]int, len(t))
	}
	tr.batch(k, x0, labels, t, z)
}

// BatchLabels is Batch for a conditional run, with the labels the network
// sees (NullLabel where label dropout struck); nil labels for an
// unconditional run.
func (tr *Trainer) BatchLabels(k int, x0 []float64, labels []int, t, z []float64) {
	tr.batch(k, x0, labels, t, z)
}

// batch draws step k: data rows (with their labels in a conditional run:
// SampleLabeled draws the points of Sample), times, noise, then one uniform
// per row for label dropout, so an unconditional run's draws are unchanged.
func (tr *Trainer) batch(k int, x0 []float64, labels []int, t, z []float64) {
	tr.stream.Reset(tr.cfg.Seed, k, trainPurpose)
	r := tr.stream.R
	if tr.cnet != nil {
		tr.ldata.SampleLabeled(x0, labels, len(t), r)
	} else {
		tr.cfg.Data.Sample(x0, len(t), r)
	}
	tr.loss.SampleTimes(t, r)
	rng.FillNormal(r, z)
	if tr.cnet != nil && tr.cfg.LabelDropout > 0 {
		for i := range t {
			if r.Float64() < tr.cfg.LabelDropout {
				labels[i] = model.NullLabel
			}
		}
	}
}

// TrainStep takes one optimiser step and returns its batch loss and the
// gradient norm before clipping. A NaN or infinite loss or gradient returns a
// *NonFiniteError and leaves the weights, optimiser and step unchanged.
func (tr *Trainer) TrainStep() (loss, gradNorm float64, err error) {
	k := tr.step
	tr.batch(k, tr.x0, tr.labels, tr.t, tr.z)
	tr.loss.Perturb(tr.xt, tr.x0, tr.t, tr.z)
	tr.net.ZeroGrad()
	if tr.cnet != nil {
		tr.cnet.ForwardTrainLabels(tr.out, tr.xt, tr.t, tr.labels)
	} else {
		tr.net.ForwardTrain(tr.out, tr.xt, tr.t)
	}
	loss = tr.loss.Eval(tr.dOut, tr.out, tr.t, tr.z)
	if !finite(loss) {
		return loss, math.NaN(), &NonFiniteError{Step: k + 1, What: "loss", Value: loss}
	}
	tr.net.Backward(tr.dOut)
	gradNorm, err = tr.opt.Step(tr.net)
	if err != nil {
		return loss, gradNorm, &NonFiniteError{Step: k + 1, What: "gradient norm", Value: gradNorm}
	}
	if tr.ema != nil {
		tr.ema.Update(tr.net)
	}
	tr.step++
	return loss, gradNorm, nil
}

// Run trains until Step() = Steps (or MaxTime has passed), checking ctx before each step and calling
// progress (if not nil) after each; an error from progress stops the run and
// is returned. It saves checkpoints as CheckpointEvery asks.
func (tr *Trainer) Run(ctx context.Context, progress func(TrainProgress) error) error {
	factor := tr.cfg.Diverge
	if factor == 0 {
		factor = DefaultDiverge
	}
	var win [divergeWindow]float64
	var sum float64
	best := math.Inf(1)
	start := time.Now()
	for n := 0; tr.step < tr.cfg.Steps; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if tr.cfg.MaxTime > 0 && n > 0 && time.Since(start) >= tr.cfg.MaxTime {
			return nil
		}
		loss, gn, err := tr.TrainStep()
		if err != nil {
			return err
		}
		if n == 0 {
			best = loss
		}
		sum += loss - win[n%divergeWindow]
		win[n%divergeWindow] = loss
		if n+1 >= divergeWindow {
			mean := sum / divergeWindow
			best = math.Min(best, mean)
			if mean > factor*best {
				return &DivergedError{Step: tr.step, Mean: mean, Best: best}
			}
		}
		if progress != nil {
			if err := progress(TrainProgress{Step: tr.step, Steps: tr.cfg.Steps, Loss: loss, GradNorm: gn}); err != nil {
				return err
			}
		}
		if k := tr.cfg.CheckpointEvery; k > 0 && tr.step%k == 0 && tr.step < tr.cfg.Steps {
			if err := tr.Save(tr.cfg.CheckpointPath); err != nil {
				return err
			}
		}
	}
	return nil
}

// Checkpoint returns a checkpoint of the current state (copies), with the
// training metadata that LoadNet and ResumeTrainer read.
func (tr *Trainer) Checkpoint() (*model.Checkpoint, error) {
	ck, err := model.NewCheckpoint(tr.net, tr.step, tr.opt, tr.ema)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	if err := WriteMeta(ck, &tr.meta); err != nil {
		return nil, err
	}
	return ck, nil
}

// Save writes the checkpoint to path atomically.
func (tr *Trainer) Save(path string) error {
	ck, err := tr.Checkpoint()
	if err != nil {
		return err
	}
	if err := model.SaveCheckpoint(path, ck); err != nil {
		return fmt.Errorf("score: %w", err)
	}
	return nil
}

// Score returns the score of the current network, with the EMA weights when
// the run keeps an EMA (what a checkpoint's LoadNet gives).
func (tr *Trainer) Score() (*Net, error) {
	return NewNet(tr.cfg.SDE, tr.samplingNet(), tr.cfg.Param)
}

// samplingNet returns the network sampling uses: the EMA weights when the
// run keeps an EMA, else the current ones.
func (tr *Trainer) samplingNet() model.Trainable {
	if tr.ema != nil {
		return tr.ema.Net(tr.net)
	}
	return tr.net
}

// LabeledScore is Score for a conditional run.
func (tr *Trainer) LabeledScore() (*LabeledNet, error) {
	if tr.cnet == nil {
		return nil, errors.New("score: LabeledScore: the run is not conditional")
	}
	return NewLabeledNet(tr.cfg.SDE, tr.samplingNet().(model.Conditional), tr.cfg.Param)
}
