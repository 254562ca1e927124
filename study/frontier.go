package study

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/metrics"
	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// Spec is a sampler spec: a registered sampler's name followed by its
// options as name=value, separated by spaces, with the command line's option
// names (sample.Options), as package nb writes them:
//
//	dpmpp-2m
//	unipc order=3
//	ode solver=heun
type Spec struct {
	// Text is the spec as given, spaces collapsed.
	Text    string
	Name    string
	Options map[string]string
}

// ParseSpec reads one sampler spec. It checks the form only; Spec.Sampler
// checks the name and the options.
func ParseSpec(text string) (Spec, error) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return Spec{}, fmt.Errorf("study: empty sampler spec; use a sampler name (%s) and its options as name=value", strings.Join(sample.Names(), ", "))
	}
	sp := Spec{Text: strings.Join(f, " "), Name: f[0], Options: map[string]string{}}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return Spec{}, fmt.Errorf("study: sampler spec %q: %q is not name=value", sp.Text, kv)
		}
		if _, dup := sp.Options[k]; dup {
			return Spec{}, fmt.Errorf("study: sampler spec %q: option %s given twice", sp.Text, k)
		}
		sp.Options[k] = v
	}
	return sp, nil
}

// ParseSpecs reads sampler specs separated by semicolons
// ("dpmpp-2m; unipc order=3; edm-heun").
func ParseSpecs(list string) ([]Spec, error) {
	var out []Spec
	for _, t := range strings.Split(list, ";") {
		sp, err := ParseSpec(t)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// NoiseOption is the one spec option that is not the sampler's: noise=NAME
// (sample.NoiseByName: streams or tree) sets the run's Config.Noise, as
// -noise does on the command line ("em noise=tree": Euler-Maruyama on the
// Brownian tree).
const NoiseOption = "noise"

// Sampler returns the spec's sampler with its options (all but noise=);
// steps > 0 sets its steps option, if it has one.
func (s Spec) Sampler(steps int) (sample.Sampler, error) {
	smp, err := sample.New(s.Name)
	if err != nil {
		return nil, err
	}
	o := make(map[string]string, len(s.Options)+1)
	for k, v := range s.Options {
		if k != NoiseOption {
			o[k] = v
		}
	}
	if steps > 0 && hasOption(smp, "steps") {
		o["steps"] = fmt.Sprint(steps)
	}
	if err := sample.Configure(smp, o); err != nil {
		return nil, err
	}
	return smp, nil
}

func hasOption(s sample.Sampler, name string) bool {
	for _, o := range sample.Options(s) {
		if o.Name == name {
			return true
		}
	}
	return false
}

// SpecError is an error of a sampler spec: an unknown sampler, a bad
// option, or a configuration its sampler refuses at a step count (Steps 0:
// at every one). Err is the sample package's error (*sample.OptionError,
// *sample.UnsupportedSDEError, ...).
type SpecError struct {
	Spec  string
	Steps int
	Err   error
}

func (e *SpecError) Error() string {
	msg := strings.TrimPrefix(e.Err.Error(), "sample: ")
	if e.Steps > 0 {
		return fmt.Sprintf("sampler %q at %d steps: %s", e.Spec, e.Steps, msg)
	}
	return fmt.Sprintf("sampler %q: %s", e.Spec, msg)
}

func (e *SpecError) Unwrap() error { return e.Err }

// FrontierConfig is a work-precision study: every sampler spec at every
// step count on one exact problem.
type FrontierConfig struct {
	SDE sde.SDE
	// Mixture is the exact problem (score.Problem: gmm8, gauss:D).
	Mixture *score.Mixture
	// Eps is the samplers' cut-off; 0 selects the SDE's default.
	Eps   float64
	Specs []Spec
	// Steps are the step counts. A spec that sets steps=N runs once, at N;
	// a spec whose sampler chooses its own steps (no steps option, or one
	// that changes nothing: the adaptive ODE) runs once, with Steps 0.
	Steps []int
	// Rows are rows 0..Rows-1 of Seed.
	Rows    int
	Seed    uint64
	Workers int // 0: one per CPU
	// Progress, if set, is called with 0 and the number of runs once every
	// spec has been checked, then after each run with the runs done; an
	// error from it stops the study.
	Progress func(done, total int) error
}

// FrontierRow is one sampler at one step count.
type FrontierRow struct {
	Spec     string // the spec's text
	Sampler  string // the sampler's name
	Schedule string // its schedule option; "t" for a uniform grid without one, "-" for its own steps
	Steps    int    // 0: the sampler chose its own steps
	// NFE is the mean number of score evaluations per sample.
	NFE float64
	// Stochastic is true when the samples depend on the noise beyond the
	// prior draw: PathErr is then not a convergence measure.
	Stochastic bool
	// PathErr is the RMS over rows and coordinates of x - x_ref,
	// sqrt(sum_i |x_i - x_ref,i|^2 / (n D)), with x_ref the row's own prior
	// draw pushed through the exact probability flow from the first to the
	// last time of the sampler's path.
	PathErr float64
	// MeanErr is |sample mean - mean of p_0| (metrics.MeanError, Euclidean).
	MeanErr float64
	// VarRatio is the sample variance over the variance of p_0, averaged
	// over coordinates (metrics.VarianceRatio).
	VarRatio float64
	// WeightErr is the total-variation distance between the mixture weights
	// and the sample's mean responsibilities (metrics.ComponentWeights); NaN
	// for one component.
	WeightErr float64
	// LogPGap is the mean of log p_0 over the sample minus E[log p_0]
	// (metrics.LogProbGap), LogPGapSE its standard error.
	LogPGap, LogPGapSE float64
	// SW2 is the sliced 2-Wasserstein distance to an exact sample of p_0 of
	// the same size (64 directions, metrics.SlicedW2).
	SW2 float64
	// KL is KL(output law || p_0) in nats, exact (OutputGaussian), for a
	// one-component problem and an affine sampler; NaN otherwise.
	KL float64
}

// FrontierResult is what Frontier returns.
type FrontierResult struct {
	Rows []FrontierRow
	// Reference says how x_ref was computed.
	Reference string
	// SW2Floor is the sliced W2 between two independent exact samples of
	// the size of the runs: what a perfect sampler shows.
	SW2Floor float64
	// FlowKL is KL(law || p_0) of the exact probability flow of the SDE's
	// prior N(0, PriorStd^2) from T to eps, for one component (NaN
	// otherwise): the part of the KL of a sampler ending at eps that comes
	// from the prior and the cut-off, not from its steps.
	FlowKL float64
	// Eps is the cut-off the samplers used.
	Eps float64
}

// Seeds of the fixed random choices of the metrics (the exact reference
// samples, the projection directions, the Monte Carlo expectation of
// log p_0); no sampler run uses them.
const (
	refSeedA   = 0x5eed0001
	refSeedB   = 0x5eed0002
	metricSeed = 0xd1ec
)

// sw2Directions and logpDraws are the sizes of the metrics: 64 directions
// (nb's choice) and 20000 exact draws for E[log p_0] of a mixture.
const (
	sw2Directions = 64
	logpDraws     = 20000
)

// referenceTol is the tolerance of the dop853 reference flow for mixtures:
// rtol = atol = 1e-10 puts its error orders of magnitude below the path
// errors of any sampler of tens of steps (checked against the exact flow on
// gauss:D in the tests).
const referenceTol = 1e-10

// frontierRun is one prepared (spec, steps) run.
type frontierRun struct {
	spec     Spec
	steps    int
	schedule string
}

// Frontier runs every spec at every step count of fc on its exact problem
// and measures each against the truth. All specs are checked at all step
// counts before any sampling: a bad spec is a *SpecError.
func Frontier(ctx context.Context, fc FrontierConfig) (FrontierResult, error) {
	res := FrontierResult{FlowKL: math.NaN()}
	m := fc.Mixture
	switch {
	case fc.SDE == nil || m == nil:
		return res, fmt.Errorf("study: Frontier needs an SDE and an exact problem (score.Problem)")
	case len(fc.Specs) == 0:
		return res, fmt.Errorf("study: Frontier needs at least one sampler spec")
	case len(fc.Steps) == 0:
		return res, fmt.Errorf("study: Frontier needs at least one step count")
	case fc.Rows < 2:
		return res, fmt.Errorf("study: Frontier needs rows >= 2 for the sample metrics, got %d", fc.Rows)
	}
	for _, n := range fc.Steps {
		if n < 1 {
			return res, fmt.Errorf("study: step count %d; use >= 1", n)
		}
	}
	base := sample.Config{SDE: fc.SDE, Score: m, Eps: fc.Eps, Workers: fc.Workers}
	runs, err := frontierPlan(ctx, base, fc.Specs, fc.Steps, fc.Seed)
	if err != nil {
		return res, err
	}
	if fc.Progress != nil {
		if err := fc.Progress(0, len(runs)); err != nil {
			return res, err
		}
	}
	eps := fc.Eps
	if eps == 0 {
		if eps, err = sde.DefaultEps(fc.SDE); err != nil {
			return res, err
		}
	}
	res.Eps = eps
	d := m.Dim()
	one := m.K() == 1
	if one {
		res.Reference = "exact flow map of one Gaussian (score.Mixture.FlowTo)"
		fm, fv, err := FlowGaussian(m, fc.SDE.PriorStd(), fc.SDE.T(), eps)
		if err != nil {
			return res, err
		}
		dm, dv := DataGaussian(m)
		res.FlowKL = GaussianKL(fm, fv, dm, dv)
	} else {
		res.Reference = fmt.Sprintf("probability flow by dop853 at rtol = atol = %g", referenceTol)
	}
	mean0, cov0 := metrics.MixtureMoments(m, 0)
	var0 := make([]float64, d)
	for j := range var0 {
		var0[j] = cov0[j*d+j]
	}
	exactA := exactSample(m, fc.Rows, refSeedA)
	res.SW2Floor = metrics.SlicedW2(exactSample(m, fc.Rows, refSeedB), exactA, d, sw2Directions, newRand(metricSeed))
	idx := firstRows(fc.Rows)
	refs := &refCache{m: m, s: fc.SDE, workers: fc.Workers}
	for k, r := range runs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		cfg, err := frontierConfig(base, r.spec, r.steps) // the spec's sampler and noise=
		if err != nil {
			return res, err
		}
		row := FrontierRow{Spec: r.spec.Text, Sampler: r.spec.Name, Schedule: r.schedule, Steps: r.steps,
			WeightErr: math.NaN(), KL: math.NaN()}
		// The prior draws and the samples of one run: the first and last
		// states of the path.
		times, states, st, err := sample.TrajectoryStats(ctx, cfg, fc.Seed, idx, 2)
		if err != nil {
			return res, fmt.Errorf("%s: %w", runName(r), err)
		}
		x := states[len(states)-1]
		row.NFE = meanNFE(st)
		ref, err := refs.flow(ctx, states[0], times[0], times[len(times)-1])
		if err != nil {
			return res, fmt.Errorf("%s: the reference flow: %w", runName(r), err)
		}
		row.PathErr = rmsDiff(x, ref)
		if row.Stochastic, err = Stochastic(ctx, cfg, fc.Seed, min(fc.Rows, 4)); err != nil {
			return res, fmt.Errorf("%s: %w", runName(r), err)
		}
		row.MeanErr = metrics.MeanError(x, d, mean0)
		for _, v := range metrics.VarianceRatio(x, d, var0) {
			row.VarRatio += v / float64(d)
		}
		if !one {
			w, _ := metrics.ComponentWeights(m, x)
			row.WeightErr = 0
			for q, wq := range m.Weights {
				row.WeightErr += 0.5 * math.Abs(w[q]-wq)
			}
		}
		row.LogPGap, row.LogPGapSE = metrics.LogProbGap(m, x, logpDraws, newRand(metricSeed))
		row.SW2 = metrics.SlicedW2(x, exactA, d, sw2Directions, newRand(metricSeed))
		if one {
			law, err := OutputGaussian(ctx, cfg)
			switch {
			case errors.Is(err, ErrNotAffine):
				// KL stays NaN: the output law is not an exact Gaussian.
			case err != nil:
				return res, fmt.Errorf("%s: the output law: %w", runName(r), err)
			default:
				dm, dv := DataGaussian(m)
				row.KL = GaussianKL(law.Mean, law.Var, dm, dv)
			}
		}
		res.Rows = append(res.Rows, row)
		if fc.Progress != nil {
			if err := fc.Progress(k+1, len(runs)); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

func runName(r frontierRun) string {
	if r.steps > 0 {
		return fmt.Sprintf("sampler %q at %d steps", r.spec.Text, r.steps)
	}
	return fmt.Sprintf("sampler %q", r.spec.Text)
}

// frontierPlan checks every spec at every step count (Config.Validate runs
// the sampler's own Prepare) and lists the runs: one per step count, or one
// for a spec that sets steps itself, or one for a sampler that chooses its
// own steps: no steps option, or one that changes nothing (the adaptive
// ODE's; dpm-adaptive's bound on its step attempts): row 0's sample and
// its number of evaluations are the same bit for bit at two counts.
func frontierPlan(ctx context.Context, base sample.Config, specs []Spec, steps []int, seed uint64) ([]frontierRun, error) {
	var runs []frontierRun
	for _, sp := range specs {
		smp, err := sp.Sampler(0)
		if err != nil {
			return nil, &SpecError{Spec: sp.Text, Err: err}
		}
		hasSteps := hasOption(smp, "steps")
		counts := steps
		pinned := 0
		if v, ok := sp.Options["steps"]; ok && hasSteps {
			// Configure accepted it, so it is an integer.
			pinned, _ = strconv.Atoi(v)
			counts = []int{pinned}
		}
		if !hasSteps {
			counts = []int{0}
		}
		var mine []frontierRun
		for _, n := range counts {
			if _, err := frontierConfig(base, sp, n); err != nil {
				return nil, err
			}
			mine = append(mine, frontierRun{spec: sp, steps: n})
		}
		own := !hasSteps
		if hasSteps {
			probe := counts
			if pinned > 0 {
				// Does the count matter? The sampler at twice the count
				// tells; one it refuses means that it does.
				probe = []int{pinned}
				if _, err := frontierConfig(base, sp, 2*pinned); err == nil {
					probe = append(probe, 2*pinned)
				}
			}
			if len(probe) > 1 {
				if own, err = stepsIgnored(ctx, base, sp, probe, seed); err != nil {
					return nil, err
				}
			}
		}
		if own {
			mine = []frontierRun{{spec: sp}}
		}
		sched := "t"
		switch {
		case own:
			sched = "-"
		case hasOption(smp, "schedule"):
			sched = sp.Options["schedule"]
			if sched == "" {
				for _, o := range sample.Options(smp) {
					if o.Name == "schedule" {
						sched = o.Default
					}
				}
			}
		}
		for i := range mine {
			mine[i].schedule = sched
		}
		runs = append(runs, mine...)
	}
	return runs, nil
}

// frontierConfig is base with the spec's sampler at n steps (0: its own
// setting), validated; a refusal is a *SpecError.
func frontierConfig(base sample.Config, sp Spec, n int) (sample.Config, error) {
	s, err := sp.Sampler(n)
	if err != nil {
		return base, &SpecError{Spec: sp.Text, Steps: n, Err: err}
	}
	c := base
	c.Sampler = s
	if name, ok := sp.Options[NoiseOption]; ok {
		if c.Noise, err = sample.NoiseByName(name); err != nil {
			return base, &SpecError{Spec: sp.Text, Steps: n, Err: err}
		}
	}
	if err := c.Validate(); err != nil {
		return base, &SpecError{Spec: sp.Text, Steps: n, Err: err}
	}
	return c, nil
}

// stepsIgnored reports whether row 0's sample and its number of
// evaluations are the same bit for bit at every count (one row: cheap).
func stepsIgnored(ctx context.Context, base sample.Config, sp Spec, counts []int, seed uint64) (bool, error) {
	var first []float64
	for i, n := range counts {
		c, err := frontierConfig(base, sp, n)
		if err != nil {
			return false, err
		}
		x := make([]float64, c.Dim+1)
		st, err := sample.Generate(ctx, c, seed, []int{0}, x[:c.Dim], nil)
		if err != nil {
			return false, fmt.Errorf("sampler %q at %d steps: %w (a sampler whose steps option is a bound, as an adaptive solver's, takes steps=N in its spec and then runs once)", sp.Text, n, err)
		}
		x[c.Dim] = float64(st.NFE[0])
		if i == 0 {
			first = x
		} else if !slices.Equal(x, first) {
			return false, nil
		}
	}
	return true, nil
}

// Stochastic reports whether the samples of cfg depend on the noise beyond
// the prior draw: it runs `rows` rows twice with the same prior draws (the
// streams of seed) and the rest of the noise from two different seeds, and
// compares the samples bit for bit. A deterministic sampler never reads
// the later draws (or multiplies them by zero), so its samples agree
// exactly; a stochastic one's differ.
func Stochastic(ctx context.Context, cfg sample.Config, seed uint64, rows int) (bool, error) {
	if rows < 1 {
		return false, fmt.Errorf("study: Stochastic needs rows >= 1")
	}
	if err := cfg.Validate(); err != nil {
		return false, err
	}
	idx := firstRows(rows)
	var out [2][]float64
	for k := range out {
		c := cfg
		c.Noise = splitNoise{salt: uint64(k) * 0x9e3779b97f4a7c15}
		out[k] = make([]float64, rows*cfg.Dim)
		if _, err := sample.Generate(ctx, c, seed, idx, out[k], nil); err != nil {
			return false, err
		}
	}
	return !slices.Equal(out[0], out[1]), nil
}

// splitNoise takes the prior draw from the row's stream of the run's seed
// (sample.Streams) and every later draw from the stream of seed ^ salt.
type splitNoise struct{ salt uint64 }

func (n splitNoise) NewSource(d int) sample.NoiseSource {
	return &splitSource{salt: n.salt, prior: sample.Streams{}.NewSource(d), rest: sample.Streams{}.NewSource(d)}
}

type splitSource struct {
	salt        uint64
	prior, rest sample.NoiseSource
	draw        int
}

func (s *splitSource) Start(seed uint64, rows []int) {
	s.prior.Start(seed, rows)
	s.rest.Start(seed^s.salt, rows)
	s.draw = 0
}

func (s *splitSource) src() sample.NoiseSource {
	if s.draw == 0 {
		return s.prior
	}
	return s.rest
}

func (s *splitSource) Normals(z []float64, a, c int) { s.src().Normals(z, a, c) }
func (s *splitSource) Increment(z []float64, a, c int, t0, t1 float64) {
	s.src().Increment(z, a, c, t0, t1)
}

// IncrementArea lets the 1.5 methods (sra1, shark) be told apart too.
func (s *splitSource) IncrementArea(w, hh []float64, a, c int, t0, t1 float64) {
	s.src().(sample.AreaSource).IncrementArea(w, hh, a, c, t0, t1)
}

func (s *splitSource) Next() {
	s.prior.Next()
	s.rest.Next()
	s.draw++
}

// refCache holds the reference flow of the last prior and time span: the
// samplers of a study share their prior draws (the same seed and rows, the
// SDE's prior), so a mixture's dop853 solve is done once per span.
type refCache struct {
	m         *score.Mixture
	s         sde.SDE
	workers   int
	prior     []float64
	t0, t1    float64
	ref       []float64
	haveCache bool
}

// flow returns the exact probability flow of prior from t0 to t1:
// score.Mixture.FlowTo for one component, a dop853 solve at
// rtol = atol = referenceTol otherwise.
func (rc *refCache) flow(ctx context.Context, prior []float64, t0, t1 float64) ([]float64, error) {
	if rc.haveCache && rc.t0 == t0 && rc.t1 == t1 && slices.Equal(rc.prior, prior) {
		return rc.ref, nil
	}
	ref := make([]float64, len(prior))
	if rc.m.K() == 1 {
		if err := rc.m.FlowTo(ref, prior, t0, t1); err != nil {
			return nil, err
		}
	} else {
		var err error
		if ref, err = referenceFlow(ctx, rc.m, rc.s, prior, t0, t1, rc.workers); err != nil {
			return nil, err
		}
	}
	rc.prior, rc.t0, rc.t1, rc.ref, rc.haveCache = append(rc.prior[:0], prior...), t0, t1, ref, true
	return ref, nil
}

// referenceFlow integrates the probability-flow ODE of m under s from t0 to
// t1 for the rows of x0 with dop853 at rtol = atol = referenceTol, each row
// with its own step size.
func referenceFlow(ctx context.Context, m *score.Mixture, s sde.SDE, x0 []float64, t0, t1 float64, workers int) ([]float64, error) {
	tb, err := ode.TableauByName("dop853")
	if err != nil {
		return nil, err
	}
	f := sde.ProbabilityFlow{SDE: s, Score: m}.F
	r, err := ode.Solve(ctx, f, m.Dim(), t0, t1, x0, ode.Options{Tableau: tb, RTol: referenceTol, ATol: referenceTol, Workers: workers})
	if err != nil {
		return nil, err
	}
	return r.Y, nil
}

// exactSample draws n rows of p_0 of m (the mixture pushed to t = 0: c(0) x
// + s(0) z, which for VE adds sigma_min noise); row i from
// rng.New(seed, i, rng.Data).
func exactSample(m *score.Mixture, n int, seed uint64) []float64 {
	d := m.Dim()
	c, s := m.SDE.Marginal(0)
	x := make([]float64, n*d)
	for i := 0; i < n; i++ {
		r := rng.New(seed, i, rng.Data)
		row := x[i*d : (i+1)*d]
		m.SampleData(row, r)
		for j := range row {
			row[j] = c*row[j] + s*r.NormFloat64()
		}
	}
	return x
}

// newRand returns a generator for the metrics' fixed choices.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6e62)) }
