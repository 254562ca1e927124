package score

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sde"
)

// classifierPurpose separates the classifier trainer's streams from the
// score trainer's ("clsf").
const classifierPurpose rng.Purpose = 0x636c7366

// ClassifierMetaKey is the key of model.Checkpoint.Meta under which the
// classifier trainer stores a ClassifierMeta as JSON.
const ClassifierMetaKey = "sdekit.classifier"

// ClassifierMeta is what a classifier's checkpoint records besides the
// network: the SDE whose x_t it was trained on (none for a clean one), the
// data and the run.
type ClassifierMeta struct {
	Format int      `json:"format"` // 1
	SDE    *SDESpec `json:"sde,omitempty"`
	Clean  bool     `json:"clean"` // trained on x_0 at t = 0 only
	Eps    float64  `json:"eps,omitempty"`
	Data   string   `json:"data"`
	Seed   uint64   `json:"seed"`
	Batch  int      `json:"batch"`
	Steps  int      `json:"steps"`
}

// ClassifierTrainConfig describes a classifier training run: cross-entropy
// of the labels of x_t = c(t) x_0 + s(t) z with t ~ U(Eps, T) under SDE (a
// noise-conditional classifier, Dhariwal & Nichol 2021), or of x_0 at t = 0
// when Clean is set (SDE may then be nil), with Adam and an optional EMA.
// Step k draws data rows and labels, then times, then noise from the
// stream (Seed, k), so runs are reproducible.
type ClassifierTrainConfig struct {
	SDE      sde.SDE
	Clean    bool
	Eps      float64 // smallest training time; 0 means DefaultTrainEps
	Data     data.LabeledSource
	DataSpec string // the -data flag, for the checkpoint; "" means Data.Name()
	Model    *model.Classifier

	Steps    int
	Batch    int     // 0 means 256
	LR       float64 // 0 means 1e-3
	Warmup   int
	ClipNorm float64
	EMA      float64 // 0: no EMA
	Seed     uint64
}

// DefaultClassifierLR is the classifier trainer's default learning rate.
const DefaultClassifierLR = 1e-3

// ClassifierTrainer trains a Classifier. It is not safe for concurrent use.
type ClassifierTrainer struct {
	cfg                      ClassifierTrainConfig
	net                      *model.Classifier
	opt                      *model.Adam
	ema                      *model.EMA
	step                     int
	stream                   *rng.Stream
	x0, xt, t, z, logits, dl []float64
	labels                   []int
}

// NewClassifierTrainer checks cfg and returns a trainer at step 0 that
// trains a clone of cfg.Model.
func NewClassifierTrainer(cfg ClassifierTrainConfig) (*ClassifierTrainer, error) {
	if cfg.Model == nil || cfg.Data == nil {
		return nil, errors.New("score: ClassifierTrainConfig needs Model and Data")
	}
	if !cfg.Clean {
		if cfg.SDE == nil {
			return nil, errors.New("score: a noise-conditional classifier needs an SDE (or set Clean)")
		}
		if err := cfg.SDE.Validate(); err != nil {
			return nil, fmt.Errorf("score: %w", err)
		}
		if _, err := SpecOf(cfg.SDE); err != nil {
			return nil, err
		}
	}
	if cfg.DataSpec == "" {
		cfg.DataSpec = cfg.Data.Name()
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.LR == 0 {
		cfg.LR = DefaultClassifierLR
	}
	if cfg.Eps == 0 {
		cfg.Eps = DefaultTrainEps
	}
	m := cfg.Model
	switch {
	case m.Dim() != cfg.Data.Dim():
		return nil, fmt.Errorf("score: the classifier has dimension %d but the data %s has %d", m.Dim(), cfg.DataSpec, cfg.Data.Dim())
	case cfg.Data.Classes() < 1:
		_, err := data.Labeled(cfg.Data)
		return nil, fmt.Errorf("score: %w", err)
	case cfg.Data.Classes() > m.Classes():
		return nil, fmt.Errorf("score: the data %s has %d classes but the classifier %d", cfg.DataSpec, cfg.Data.Classes(), m.Classes())
	case cfg.Steps < 1 || cfg.Batch < 1:
		return nil, fmt.Errorf("score: Steps = %d and Batch = %d must be >= 1", cfg.Steps, cfg.Batch)
	case !(cfg.LR > 0) || math.IsInf(cfg.LR, 0):
		return nil, fmt.Errorf("score: learning rate %v must be finite and > 0", cfg.LR)
	case !(cfg.EMA >= 0 && cfg.EMA < 1):
		return nil, fmt.Errorf("score: EMA decay %v must lie in [0, 1)", cfg.EMA)
	case !cfg.Clean && !(cfg.Eps > 0 && cfg.Eps < cfg.SDE.T()):
		return nil, fmt.Errorf("score: Eps = %v must lie in (0, T)", cfg.Eps)
	}
	net := m.Clone()
	net.SetWorkers(m.Workers())
	opt := model.NewAdam(cfg.LR)
	opt.Warmup, opt.ClipNorm = cfg.Warmup, cfg.ClipNorm
	var ema *model.EMA
	if cfg.EMA > 0 {
		ema = model.NewEMA(net, cfg.EMA)
	}
	n, d, c := cfg.Batch, m.Dim(), m.Classes()
	return &ClassifierTrainer{cfg: cfg, net: net, opt: opt, ema: ema,
		stream: rng.NewStream(cfg.Seed, 0, classifierPurpose),
		x0:     make([]float64, n*d), xt: make([]float64, n*d), t: make([]float64, n), z: make([]float64, n*d),
		logits: make([]float64, n*c), dl: make([]float64, n*c), labels: make([]int, n)}, nil
}

// Step returns the number of steps taken.
func (tr *ClassifierTrainer) Step() int { return tr.step }

// Model returns the classifier being trained (not a copy).
func (tr *ClassifierTrainer) Model() *model.Classifier { return tr.net }

// Inference returns a copy of the classifier with the EMA weights when the
// run keeps an EMA (what a checkpoint's Classifier gives).
func (tr *ClassifierTrainer) Inference() *model.Classifier {
	c := tr.net.Clone()
	if tr.ema != nil {
		copy(c.Params(), tr.ema.Shadow)
	}
	return c
}

// TrainStep takes one step and returns the batch's cross-entropy.
func (tr *ClassifierTrainer) TrainStep() (float64, error) {
	k := tr.step
	tr.stream.Reset(tr.cfg.Seed, k, classifierPurpose)
	r := tr.stream.R
	n := len(tr.t)
	tr.cfg.Data.SampleLabeled(tr.x0, tr.labels, n, r)
	if tr.cfg.Clean {
		clear(tr.t)
		copy(tr.xt, tr.x0)
	} else {
		lo, hi := tr.cfg.Eps, tr.cfg.SDE.T()
		for i := range tr.t {
			tr.t[i] = lo + (hi-lo)*r.Float64()
		}
		rng.FillNormal(r, tr.z)
		d := tr.net.Dim()
		for i, ti := range tr.t {
			c, s := tr.cfg.SDE.Marginal(ti)
			for j := i * d; j < (i+1)*d; j++ {
				tr.xt[j] = c*tr.x0[j] + s*tr.z[j]
			}
		}
	}
	tr.net.ZeroGrad()
	tr.net.ForwardTrain(tr.logits, tr.xt, tr.t)
	loss := model.CrossEntropy(tr.dl, tr.logits, tr.labels, tr.net.Classes())
	if !finite(loss) {
		return loss, &NonFiniteError{Step: k + 1, What: "loss", Value: loss}
	}
	tr.net.Backward(tr.dl)
	if gn, err := tr.opt.Update(tr.net.Params(), tr.net.Grads()); err != nil {
		return loss, &NonFiniteError{Step: k + 1, What: "gradient norm", Value: gn}
	}
	if tr.ema != nil {
		tr.ema.UpdateParams(tr.net.Params())
	}
	tr.step++
	return loss, nil
}

// Run trains until Step() = Steps, calling progress (if not nil) with the
// step and its loss.
func (tr *ClassifierTrainer) Run(ctx context.Context, progress func(step int, loss float64) error) error {
	for tr.step < tr.cfg.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		loss, err := tr.TrainStep()
		if err != nil {
			return err
		}
		if progress != nil {
			if err := progress(tr.step, loss); err != nil {
				return err
			}
		}
	}
	return nil
}

// Checkpoint returns a checkpoint of the classifier with its metadata.
func (tr *ClassifierTrainer) Checkpoint() (*model.Checkpoint, error) {
	ck, err := model.NewCheckpoint(tr.net, tr.step, tr.opt, tr.ema)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	m := ClassifierMeta{Format: 1, Clean: tr.cfg.Clean, Data: tr.cfg.DataSpec,
		Seed: tr.cfg.Seed, Batch: tr.cfg.Batch, Steps: tr.cfg.Steps}
	if !tr.cfg.Clean {
		sp, _ := SpecOf(tr.cfg.SDE)
		m.SDE, m.Eps = &sp, tr.cfg.Eps
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	ck.Meta = map[string]string{ClassifierMetaKey: string(b)}
	return ck, nil
}

// Save writes the checkpoint to path atomically.
func (tr *ClassifierTrainer) Save(path string) error {
	ck, err := tr.Checkpoint()
	if err != nil {
		return err
	}
	if err := model.SaveCheckpoint(path, ck); err != nil {
		return fmt.Errorf("score: %w", err)
	}
	return nil
}

// ClassifierGrad is a trained classifier as a ClassGradient (the guidance
// term grad_x log p_t(c | x)), safe for concurrent use (each call borrows a
// clone). A clean classifier (trained at t = 0 only) is evaluated at t = 0
// whatever t the sampler passes: its time input was never trained.
type ClassifierGrad struct {
	proto *model.Classifier
	Meta  ClassifierMeta
	mu    sync.Mutex
	free  []*model.Classifier
	zeros []float64 // a clean classifier's times; only ever read, so shared
}

// NewClassifierGrad wraps a classifier (cloned) with its metadata.
func NewClassifierGrad(c *model.Classifier, meta ClassifierMeta) *ClassifierGrad {
	return &ClassifierGrad{proto: c.Clone(), Meta: meta}
}

func (g *ClassifierGrad) get() *model.Classifier {
	g.mu.Lock()
	defer g.mu.Unlock()
	if k := len(g.free); k > 0 {
		c := g.free[k-1]
		g.free = g.free[:k-1]
		return c
	}
	return g.proto.Clone()
}

func (g *ClassifierGrad) put(c *model.Classifier) {
	g.mu.Lock()
	g.free = append(g.free, c)
	g.mu.Unlock()
}

// Dim returns D.
func (g *ClassifierGrad) Dim() int { return g.proto.Dim() }

// Classes returns C.
func (g *ClassifierGrad) Classes() int { return g.proto.Classes() }

// Model returns a copy of the classifier.
func (g *ClassifierGrad) Model() *model.Classifier { return g.proto.Clone() }

// times returns t, or zeros for a clean classifier (without allocating
// once the zeros are as long as the largest block: guidance calls this at
// every sampler step).
func (g *ClassifierGrad) times(t []float64) []float64 {
	if !g.Meta.Clean {
		return t
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.zeros) < len(t) {
		g.zeros = make([]float64, len(t))
	}
	return g.zeros[:len(t)]
}

// LogProbGradTo writes grad_x log p_t(c_i | x_i) for each row.
func (g *ClassifierGrad) LogProbGradTo(dst, x, t []float64, labels []int) {
	c := g.get()
	c.LogProbGradTo(dst, x, g.times(t), labels)
	g.put(c)
}

// PredictTo writes the most probable class of each row at time t.
func (g *ClassifierGrad) PredictTo(dst []int, x, t []float64) {
	c := g.get()
	c.Predict(dst, x, g.times(t))
	g.put(c)
}

// ClassifierFromCheckpoint rebuilds a classifier's checkpoint (EMA weights
// when it has them) as a ClassGradient. A score network's checkpoint, a
// classifier of another data dimension (dim > 0) or, for a
// noise-conditional one, another SDE than s (when s is not nil) is an
// error that says so.
func ClassifierFromCheckpoint(ck *model.Checkpoint, name string, dim int, s sde.SDE) (*ClassifierGrad, error) {
	c, err := ck.Classifier()
	if err != nil {
		return nil, fmt.Errorf("score: %s: %s", name, strings.TrimPrefix(strings.TrimPrefix(err.Error(), "model: "), "checkpoint: "))
	}
	var meta ClassifierMeta
	raw, ok := ck.Meta[ClassifierMetaKey]
	if !ok {
		return nil, fmt.Errorf("score: %s: no classifier metadata (not written by the sdekit classifier trainer)", name)
	}
	if err := json.Unmarshal([]byte(raw), &meta); err != nil || meta.Format != 1 {
		return nil, fmt.Errorf("score: %s: classifier metadata unreadable or of another format (%v)", name, err)
	}
	if dim > 0 && c.Dim() != dim {
		return nil, fmt.Errorf("score: %s was trained on data of dimension %d (%s), this data has %d; train a classifier on this data", name, c.Dim(), meta.Data, dim)
	}
	if s != nil && !meta.Clean && meta.SDE != nil {
		have, err := SpecOf(s)
		if err != nil {
			return nil, fmt.Errorf("score: %s: %w", name, err)
		}
		if !sameSDE(have, *meta.SDE) {
			return nil, fmt.Errorf("score: the classifier %s was trained on x_t of the %s SDE; it cannot guide %s (use -sde %s)", name, meta.SDE, have, meta.SDE.Name)
		}
	}
	return NewClassifierGrad(c, meta), nil
}

// LoadClassifier is ClassifierFromCheckpoint on a file.
func LoadClassifier(path string, dim int, s sde.SDE) (*ClassifierGrad, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	return ClassifierFromCheckpoint(ck, path, dim, s)
}

var _ ClassGradient = (*ClassifierGrad)(nil)
