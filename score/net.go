package score

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sde"
)

// Param says how a network's output o(x, t) becomes a score. With s(t) the
// marginal standard deviation of the SDE,
//
//	ParamEps:   score = -o / s(t)   (o predicts the noise z of x_t = c x_0 + s z)
//	ParamSigma: score =  o / s(t)   (o predicts s(t) times the score, NCSN's output/sigma)
//	ParamScore: score =  o          (o is the score itself)
//
// Every parameterisation works with every SDE; the scale factor of the output
// is Net.Scale.
type Param string

const (
	// ParamEps is the score SDE reference's VP and sub-VP convention
	// (get_score_fn divides the model output by -std(t)) and DDPM's
	// epsilon-prediction: the network predicts the noise, score = -eps/std.
	ParamEps Param = "eps"
	// ParamSigma is NCSN's scaling (Song and Ermon 2020, the reference's
	// model.scale_by_sigma, set in all its VE NCSN++ configs): the network's
	// output is divided by sigma(t) = std(t), so it predicts std(t) times the
	// score, -eps. The reference's get_score_fn uses a VE model's output "as
	// is", but its VE models divide by sigma inside; an MLP has no such layer,
	// so here the division is the parameterisation. Default for VE.
	ParamSigma Param = "sigma"
	// ParamScore uses the network's output as the score, unscaled: the
	// reference's VE get_score_fn taken literally. Its target -z/std(t) spans
	// 1/sigma_max .. 1/sigma_min, which a plain MLP fits poorly at small t.
	ParamScore Param = "score"
)

// Params lists the parameterisations.
var Params = []Param{ParamEps, ParamSigma, ParamScore}

// ParseParam returns the parameterisation of a name: "eps", "sigma" or "score".
func ParseParam(name string) (Param, error) {
	for _, p := range Params {
		if string(p) == name {
			return p, nil
		}
	}
	return "", fmt.Errorf("score: unknown parameterisation %q; use eps (score = -out/std), sigma (score = out/std) or score (score = out)", name)
}

// DefaultParam is the parameterisation the trainer uses when none is given:
// the one s declares (sde.DefaultParam: ParamEps for VP and sub-VP, the
// reference's convention; ParamSigma for VE, as the reference's NCSN++ VE
// models scale by sigma internally), ParamEps for an SDE that declares none.
func DefaultParam(s sde.SDE) Param { return Param(sde.DefaultParam(s)) }

// scale returns k(t) with score = k(t) o, given the marginal std.
func (p Param) scale(std float64) float64 {
	switch p {
	case ParamEps:
		return -1 / std
	case ParamSigma:
		return 1 / std
	case ParamScore:
		return 1
	}
	panic(fmt.Sprintf("score: unknown parameterisation %q", string(p)))
}

// unitScale returns alpha = std k(t): std(t) times the score is alpha o.
func (p Param) unitScale(std float64) float64 {
	switch p {
	case ParamEps:
		return -1
	case ParamSigma:
		return 1
	case ParamScore:
		return std
	}
	panic(fmt.Sprintf("score: unknown parameterisation %q", string(p)))
}

// Net is the score of a trained network: score(x, t) = Scale(t) o(x, t) for
// the network output o and the parameterisation of Param. It satisfies
// sde.Score and is safe for concurrent use: each call borrows a clone of the
// network from a free list (model networks keep a workspace and are not), so
// there are at most as many clones as concurrent callers, each keeping the
// workspace of the largest batch it has seen.
type Net struct {
	sde   sde.SDE
	param Param
	proto model.Net
	dim   int
	mu    sync.Mutex
	free  []model.Net
}

func (n *Net) get() model.Net {
	n.mu.Lock()
	if k := len(n.free); k > 0 {
		m := n.free[k-1]
		n.free = n.free[:k-1]
		n.mu.Unlock()
		return m
	}
	n.mu.Unlock()
	return n.proto.Clone()
}

func (n *Net) put(m model.Net) {
	n.mu.Lock()
	n.free = append(n.free, m)
	n.mu.Unlock()
}

// NewNet returns the score of net under s with parameterisation p. Any
// model.Net will do (model.New's result, a checkpoint's InferenceNet, a
// network of another architecture). The network is cloned: later changes
// to net do not affect the score.
func NewNet(s sde.SDE, net model.Net, p Param) (*Net, error) {
	if s == nil || net == nil {
		return nil, errors.New("score: NewNet needs an SDE and a network")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	if _, err := ParseParam(string(p)); err != nil {
		return nil, err
	}
	return &Net{sde: s, param: p, proto: net.Clone(), dim: net.Dim()}, nil
}

// Dim returns the data dimension D.
func (n *Net) Dim() int { return n.dim }

// SDE returns the forward SDE whose marginal std scales the output.
func (n *Net) SDE() sde.SDE { return n.sde }

// Param returns the parameterisation.
func (n *Net) Param() Param { return n.param }

// Model returns a copy of the underlying network.
func (n *Net) Model() model.Net { return n.proto.Clone() }

// Scale returns k(t), score = k(t) o(x, t): -1/std(t), 1/std(t) or 1.
func (n *Net) Scale(t float64) float64 {
	_, std := n.sde.Marginal(t)
	return n.param.scale(std)
}

func (n *Net) check(op string, t []float64, s ...[]float64) {
	if len(t) == 0 {
		panic("score: Net." + op + ": empty batch")
	}
	for _, v := range s {
		if len(v) != len(t)*n.dim {
			panic(fmt.Sprintf("score: Net.%s: slice of %d values for %d rows of dimension %d", op, len(v), len(t), n.dim))
		}
	}
}

// ScoreTo writes the score of each row of x at time t[i] into dst.
func (n *Net) ScoreTo(dst, x, t []float64) {
	n.check("ScoreTo", t, dst, x)
	m := n.get()
	m.Forward(dst, x, t)
	n.put(m)
	n.scaleRows(dst, t)
}

// OutputTo writes the raw network output o(x, t) (no scaling) into dst.
func (n *Net) OutputTo(dst, x, t []float64) {
	n.check("OutputTo", t, dst, x)
	m := n.get()
	m.Forward(dst, x, t)
	n.put(m)
}

// VJPTo writes v^T (d score/dx) for each row into dst. Since the scale k(t)
// does not depend on x, v^T d score/dx = k(t) v^T (d o/dx), the network's
// input vector-Jacobian product scaled row by row. The network's Jacobian is
// not symmetric in general, so this is not J v.
func (n *Net) VJPTo(dst, v, x, t []float64) {
	n.check("VJPTo", t, dst, v, x)
	m := n.get()
	m.InputVJP(dst, v, x, t)
	n.put(m)
	n.scaleRows(dst, t)
}

// ScoreVJPTo writes the score into s and v^T (d score/dx) into vjp for every
// row from one forward pass of the network when it has one for both
// (model.ForwardVJPer; otherwise Forward and InputVJP): the score and the
// product a Hutchinson probe of the likelihood needs, for the price of about
// two forward passes instead of three. The values are those of ScoreTo and
// VJPTo.
func (n *Net) ScoreVJPTo(s, vjp, v, x, t []float64) {
	n.check("ScoreVJPTo", t, s, vjp, v, x)
	m := n.get()
	if f, ok := m.(model.ForwardVJPer); ok {
		f.ForwardVJP(s, vjp, v, x, t)
	} else {
		m.Forward(s, x, t)
		m.InputVJP(vjp, v, x, t)
	}
	n.put(m)
	n.scaleRows(s, t, vjp)
}

// FusedTrace reports whether ScoreTraceTo is one forward and D backward
// passes (the network is a model.ForwardTracer) rather than the fallback
// (likelihood.FusedTraceScore).
func (n *Net) FusedTrace() bool {
	_, ok := n.proto.(model.ForwardTracer)
	return ok
}

// ScoreTraceTo writes the score into s and the trace of d score/dx into tr
// (one value per row) for every row: k(t) times the trace of the network's
// input Jacobian, from one forward pass and D backward ones when the network
// has them (model.ForwardTracer), otherwise Forward and D InputVJP calls
// with unit vectors (which allocate their scratch).
func (n *Net) ScoreTraceTo(s, tr, x, t []float64) {
	n.check("ScoreTraceTo", t, s, x)
	if len(tr) != len(t) {
		panic(fmt.Sprintf("score: Net.ScoreTraceTo: %d trace values for %d rows", len(tr), len(t)))
	}
	m := n.get()
	if f, ok := m.(model.ForwardTracer); ok {
		f.ForwardTrace(s, tr, x, t)
	} else {
		m.Forward(s, x, t)
		d := n.dim
		e, col := make([]float64, len(x)), make([]float64, len(x))
		clear(tr)
		for j := 0; j < d; j++ {
			for i := range t {
				e[i*d+j] = 1
			}
			m.InputVJP(col, e, x, t)
			for i := range t {
				tr[i] += col[i*d+j]
				e[i*d+j] = 0
			}
		}
	}
	n.put(m)
	if n.param == ParamScore {
		return
	}
	d := n.dim
	for i, ti := range t {
		k := n.Scale(ti)
		tr[i] *= k
		row := s[i*d : (i+1)*d]
		for j := range row {
			row[j] *= k
		}
	}
}

// scaleRows multiplies row i of dst, and of also when given, by k(t_i).
func (n *Net) scaleRows(dst, t []float64, also ...[]float64) {
	d := n.dim
	if n.param == ParamScore {
		return
	}
	for i, ti := range t {
		k := n.Scale(ti)
		row := dst[i*d : (i+1)*d]
		for j := range row {
			row[j] *= k
		}
		for _, a := range also {
			row := a[i*d : (i+1)*d]
			for j := range row {
				row[j] *= k
			}
		}
	}
}

// MetaKey is the key of model.Checkpoint.Meta under which the trainer stores
// a TrainMeta as JSON.
const MetaKey = "sdekit.score"

// SDESpec names a forward SDE kind (sde.Register) and the parameters that
// rebuild it (sde.Parameterized). Its JSON is flat, the name beside the
// parameters: {"name":"vp","beta_max":20,"beta_min":0.1}, as checkpoints
// have always stored it.
type SDESpec struct {
	Name   string
	Params map[string]float64
}

// MarshalJSON writes the flat form: "name", then the parameters by sorted key.
func (sp SDESpec) MarshalJSON() ([]byte, error) {
	name, err := json.Marshal(sp.Name)
	if err != nil {
		return nil, err
	}
	b := append([]byte(`{"name":`), name...)
	for _, k := range slices.Sorted(maps.Keys(sp.Params)) {
		if k == "name" {
			return nil, fmt.Errorf("score: the %s SDE has a parameter called \"name\", which its checkpoint entry uses for the kind; rename the parameter", sp.Name)
		}
		key, _ := json.Marshal(k)
		v, err := json.Marshal(sp.Params[k])
		if err != nil {
			return nil, fmt.Errorf("score: the %s SDE's parameter %s: %w", sp.Name, k, err)
		}
		b = append(append(append(append(b, ','), key...), ':'), v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads the flat form: "name" and numeric parameters.
func (sp *SDESpec) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("score: the SDE entry: %w", err)
	}
	var out SDESpec
	if v, ok := raw["name"]; ok {
		if err := json.Unmarshal(v, &out.Name); err != nil {
			return fmt.Errorf("score: the SDE entry's name: %w", err)
		}
		delete(raw, "name")
	}
	if out.Name == "" {
		return errors.New("score: the SDE entry has no name")
	}
	out.Params = make(map[string]float64, len(raw))
	for k, v := range raw {
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("score: the %s SDE's parameter %s is not a number: %w", out.Name, k, err)
		}
		out.Params[k] = f
	}
	// Writers before the SDE registry left zero parameters out (JSON
	// omitempty); writers since record every one. So a parameter the kind
	// has (as its defaults report) that the entry lacks is 0, not the
	// kind's default: it matters for beta_min = 0.
	if proto, err := sde.New(out.Name, nil); err == nil {
		if p, ok := proto.(sde.Parameterized); ok {
			for k := range p.Params() {
				if _, ok := out.Params[k]; !ok {
					out.Params[k] = 0
				}
			}
		}
	}
	*sp = out
	return nil
}

// SpecOf describes s for a checkpoint: its name and sde.Parameterized
// parameters. It fails for an SDE that does not report its parameters, or
// whose kind sde.New cannot rebuild from them (not registered, or registered
// under that name for another type).
func SpecOf(s sde.SDE) (SDESpec, error) {
	p, ok := s.(sde.Parameterized)
	if !ok {
		return SDESpec{Name: s.Name()}, fmt.Errorf("score: the %s SDE (%T) does not report its parameters, so a checkpoint could not record it; implement Params() map[string]float64 (sde.Parameterized) and register the kind with sde.Register", s.Name(), s)
	}
	sp := SDESpec{Name: s.Name(), Params: maps.Clone(p.Params())}
	if _, ok := sp.Params["name"]; ok {
		return sp, fmt.Errorf("score: the %s SDE (%T) has a parameter called \"name\", which a checkpoint uses for the kind; rename the parameter", sp.Name, s)
	}
	rebuilt, err := sde.New(sp.Name, sp.Params)
	if err != nil {
		return sp, fmt.Errorf("score: the %s SDE (%T) cannot be rebuilt from its name and parameters, so a checkpoint could not record it (register the kind with sde.Register): %w", s.Name(), s, err)
	}
	if reflect.TypeOf(rebuilt) != reflect.TypeOf(s) {
		return sp, fmt.Errorf("score: the SDE of type %T is called %q, but sde.New(%q) builds a %T; give it a name of its own and register it with sde.Register", s, sp.Name, sp.Name, rebuilt)
	}
	if rp, ok := rebuilt.(sde.Parameterized); !ok || !maps.Equal(rp.Params(), sp.Params) {
		return sp, fmt.Errorf("score: sde.New(%q, %v) does not give back those parameters; the kind's build function must use every key Params reports", sp.Name, sp.Params)
	}
	return sp, nil
}

// SDE builds the SDE the spec describes with sde.New.
func (sp SDESpec) SDE() (sde.SDE, error) {
	s, err := sde.New(sp.Name, sp.Params)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	return s, nil
}

// String is the name and the parameters by sorted key, as
// "vp (beta_max 20, beta_min 0.1)".
func (sp SDESpec) String() string {
	if len(sp.Params) == 0 {
		return sp.Name
	}
	var b strings.Builder
	b.WriteString(sp.Name + " (")
	for i, k := range slices.Sorted(maps.Keys(sp.Params)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + " " + strconv.FormatFloat(sp.Params[k], 'g', -1, 64))
	}
	b.WriteString(")")
	return b.String()
}

// TrainMeta is what a checkpoint written by the trainer records besides the
// network and optimiser: enough to rebuild the score and to resume the run.
type TrainMeta struct {
	Format int        `json:"format"` // 1
	SDE    SDESpec    `json:"sde"`
	Param  Param      `json:"param"`
	Loss   LossConfig `json:"loss"`
	Data   string     `json:"data"`  // the data spec (a source name or a file)
	Seed   uint64     `json:"seed"`  // the run's seed: batch k draws from stream (Seed, k)
	Batch  int        `json:"batch"` // rows per step
	Steps  int        `json:"steps"` // the run's planned number of steps
	// Classes and LabelDropout describe a conditional run (0 otherwise,
	// left out of the JSON).
	Classes      int     `json:"classes,omitempty"`
	LabelDropout float64 `json:"label_dropout,omitempty"`
	// Autoencoder names the first stage of a latent run (the network
	// trained on its scaled latents; package latent), nil otherwise.
	Autoencoder *AutoencoderRef `json:"autoencoder,omitempty"`
}

// AutoencoderRef identifies the autoencoder checkpoint a latent score
// network needs to decode its samples: the path it was given as, and the
// SHA-256 of the file (hex), which a loader checks before using it.
type AutoencoderRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// metaFormat is the TrainMeta format this build writes and reads.
const metaFormat = 1

// ReadMeta returns the training metadata of a checkpoint, or an error if it
// has none or it cannot be decoded.
func ReadMeta(ck *model.Checkpoint) (*TrainMeta, error) {
	raw, ok := ck.Meta[MetaKey]
	if !ok {
		return nil, errors.New("no score metadata (not written by the sdekit trainer); build the score with score.NewNet and a parameterisation")
	}
	var m TrainMeta
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("score metadata: %w", err)
	}
	if m.Format != metaFormat {
		return nil, fmt.Errorf("score metadata format %d not supported (this build reads %d)", m.Format, metaFormat)
	}
	if _, err := ParseParam(string(m.Param)); err != nil {
		return nil, err
	}
	return &m, nil
}

// WriteMeta stores m in ck.Meta under MetaKey.
func WriteMeta(ck *model.Checkpoint, m *TrainMeta) error {
	mm := *m
	mm.Format = metaFormat
	b, err := json.Marshal(mm)
	if err != nil {
		return fmt.Errorf("score: encoding metadata: %w", err)
	}
	if ck.Meta == nil {
		ck.Meta = map[string]string{}
	}
	ck.Meta[MetaKey] = string(b)
	return nil
}

// sameSDE reports whether a and b are the same SDE with the same parameters.
func sameSDE(a, b SDESpec) bool {
	return a.Name == b.Name && maps.Equal(a.Params, b.Params)
}

// LoadNet reads a checkpoint written by the trainer (sdesample train) and
// returns its score, with the EMA weights when the checkpoint has them. The
// network is rebuilt by the builder registered for the checkpoint's kind
// (model.Register; "mlp" always is), so any architecture loads. If s
// is nil the SDE recorded in the checkpoint is used; otherwise s must be the
// SDE the network was trained with (same type and parameters), since the
// output scaling and the time input depend on it.
func LoadNet(path string, s sde.SDE) (*Net, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	return NetFromCheckpoint(ck, s, path)
}

// NetFromCheckpoint is LoadNet on a checkpoint in memory; name identifies it
// in error messages.
func NetFromCheckpoint(ck *model.Checkpoint, s sde.SDE, name string) (*Net, error) {
	if ck.Kind == model.KindClassifier {
		return nil, fmt.Errorf("score: %s holds a classifier, not a score network; give it where a classifier is expected (sdesample sample -classifier, classify -model)", name)
	}
	meta, err := ReadMeta(ck)
	if err != nil {
		return nil, fmt.Errorf("score: %s: %w", name, err)
	}
	trained, err := meta.SDE.SDE()
	if err != nil {
		return nil, fmt.Errorf("score: %s: recorded SDE: %w", name, err)
	}
	if s == nil {
		s = trained
	} else {
		have, err := SpecOf(s)
		if err != nil {
			return nil, fmt.Errorf("score: %s: %w", name, err)
		}
		if !sameSDE(have, meta.SDE) {
			hint := "use -sde " + meta.SDE.Name
			if have.Name == meta.SDE.Name {
				hint = "the parameters differ; use the SDE the checkpoint records"
			}
			return nil, fmt.Errorf("score: %s was trained with the %s SDE; it cannot be used with %s (%s)", name, meta.SDE, have, hint)
		}
	}
	net, err := ck.InferenceNet()
	if err != nil {
		return nil, fmt.Errorf("score: %s: %w", name, err)
	}
	return NewNet(s, net, meta.Param)
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
