package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/study"
)

func init() {
	register("order", "measure a sampler's order of convergence on gauss:D: a deterministic one's against the exact probability flow, a stochastic one's strong and weak orders", runOrder)
}

func runOrder(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("order", stderr)
	var sf samplerFlags
	sf.register(fs)
	if f := fs.Lookup("score"); f != nil {
		// The order needs the closed-form flow of one Gaussian.
		f.Usage = "exact score of one Gaussian: gauss:D (for example gauss:16)"
		f.DefValue = "gauss:16"
		f.Value.Set(f.DefValue)
	}
	stepsList := fs.String("steps-list", "10,20,40,80,160", "comma-separated step counts, at least two")
	n := fs.Int("n", 256, "rows 0..n-1 of -seed: the error (a stochastic sampler's strong error) is the RMS over them and their coordinates")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usagef("-n %d: the number of rows must be >= 1", *n)
	}
	steps, err := parseStepsList(*stepsList)
	if err != nil {
		return err
	}
	if len(steps) < 2 {
		return usagef("-steps-list %s: the order is a slope; give at least two step counts (for example 10,20,40,80,160)", *stepsList)
	}
	if flagSet(fs, "steps") {
		return usagef("-steps: order runs every count of -steps-list; remove -steps")
	}
	if smp, err := sample.New(sf.sampler); err == nil && hasSamplerOption(smp, "steps") {
		// Validated at the first count, not the default.
		fs.Set("steps", strconv.Itoa(steps[0]))
	}
	cfg, prob, err := sf.config()
	if err != nil {
		return err
	}
	if prob.Mix == nil || prob.Mix.K() != 1 {
		return usagef("-score %s: the order compares with the exact probability-flow map, known in closed form for one Gaussian; use gauss:D (for example gauss:16)", prob.Spec)
	}
	values := sf.optionValues()
	if !hasSamplerOption(cfg.Sampler, "steps") {
		return usagef("-sampler %s has no -steps (it chooses its own steps); order measures fixed-step samplers", sf.sampler)
	}
	spec := specText(sf.sampler, values)
	mk := func(k int) (sample.Sampler, error) {
		v := make(map[string]string, len(values)+1)
		for key, val := range values {
			v[key] = val
		}
		v["steps"] = strconv.Itoa(k)
		return sample.NewFromOptions(sf.sampler, v)
	}
	// Every count is checked before any run; then whether the sampler is
	// deterministic and whether the count changes anything.
	var first []float64
	var firstNFE int
	stochastic := false
	for i, k := range steps {
		smp, err := mk(k)
		if err == nil {
			c := cfg
			c.Sampler = smp
			err = c.Validate()
		}
		if err != nil {
			return stepsUsage(ctx, k, err)
		}
		if i > 1 {
			continue
		}
		c := cfg
		c.Sampler = smp
		if i == 0 {
			if stochastic, err = study.Stochastic(ctx, c, sf.seed, min(*n, 4)); err != nil {
				return runFailed(ctx, k, err)
			}
		}
		x := make([]float64, cfg.Dim)
		st, err := sample.Generate(ctx, c, sf.seed, []int{0}, x, nil)
		if err != nil {
			return runFailed(ctx, k, err)
		}
		if i == 0 {
			first, firstNFE = x, st.NFE[0]
		} else if st.NFE[0] == firstNFE && sameValues(x, first) {
			return usagef("-sampler %s gives the same sample at %d and %d steps: it chooses its own steps (an adaptive solver); order measures fixed-step samplers", spec, steps[0], k)
		}
	}
	if stochastic {
		return stochasticOrder(ctx, stdout, &sf, cfg, prob, spec, mk, steps, *n)
	}
	res, err := study.Order(ctx, cfg, mk, steps, *n, sf.seed)
	if err != nil {
		return stepsUsage(ctx, 0, err)
	}
	fmt.Fprintf(stdout, "order of %s on %s under %s, eps %g, rows 0..%d of seed %d\n", spec, prob.Spec, cfg.SDE.Name(), cfg.Eps, *n-1, sf.seed)
	fmt.Fprintf(stdout, "error: RMS over rows and coordinates of the sample minus the exact probability-flow map of its own prior draw; slope: log(e_prev/e)/log(N/N_prev)\n")
	fmt.Fprintf(stdout, "%6s %9s %12s %7s\n", "steps", "NFE", "error", "slope")
	for i := range res.Steps {
		fmt.Fprintf(stdout, "%6d %9.1f %12.4e %7s\n", res.Steps[i], res.NFE[i], res.Err[i], localSlope(res.Steps, res.Err, i))
	}
	fmt.Fprintf(stdout, "order %.2f\n", res.Order)
	return nil
}

// localSlope is log(e[i-1]/e[i])/log(n[i]/n[i-1]) as text, "-" for the
// first count.
func localSlope(n []int, e []float64, i int) string {
	if i == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", math.Log(e[i-1]/e[i])/math.Log(float64(n[i])/float64(n[i-1])))
}

// stochasticOrder measures and prints a stochastic sampler's strong order
// (study.StrongOrder: the RMS distance to the same sampler with 16x the
// steps on the same Brownian path, so it needs the Brownian tree) and weak
// order (study.WeakOrder: the exact output law against the reverse SDE's
// at eps, no Monte Carlo).
func stochasticOrder(ctx context.Context, stdout io.Writer, sf *samplerFlags, cfg sample.Config, prob *problem, spec string, mk func(int) (sample.Sampler, error), steps []int, n int) error {
	if sf.noise != "" && sf.noise != "tree" {
		return usagef("-sampler %s is stochastic: its strong order compares runs with different steps on one Brownian path, which -noise %s does not give (its draws do not depend on the interval); use -noise tree, or leave -noise empty for it", spec, sf.noise)
	}
	tree, err := sample.NoiseByName("tree")
	if err != nil {
		return fmt.Errorf("the strong order needs the Brownian tree: %v", err)
	}
	cfg.Noise = tree
	free, err := freeDraws(ctx, cfg, mk, steps[0], sf.seed)
	if err != nil {
		return runFailed(ctx, steps[0], err)
	}
	var strong study.StrongResult
	if !free {
		if strong, err = study.StrongOrder(ctx, cfg, mk, steps, n, sf.seed); err != nil {
			return stepsUsage(ctx, 0, err)
		}
	}
	weak, werr := study.WeakOrder(ctx, cfg, mk, steps)
	if werr != nil && !errors.Is(werr, study.ErrNotAffine) {
		return stepsUsage(ctx, 0, werr)
	}
	fmt.Fprintf(stdout, "order of %s on %s under %s, eps %g: a stochastic sampler, so its strong and weak orders\n", spec, prob.Spec, cfg.SDE.Name(), cfg.Eps)
	if free {
		fmt.Fprintf(stdout, "strong order not measured: the sampler draws noise that belongs to no time interval (Langevin corrector steps), so runs with different steps cannot share it\n")
	} else {
		fmt.Fprintf(stdout, "strong error: RMS over rows 0..%d of seed %d and their coordinates of the sample minus the same sampler's with %dx the steps on the same Brownian path (noise tree); slope: log(e_prev/e)/log(N/N_prev)\n", n-1, sf.seed, study.StrongRefFactor)
		fmt.Fprintf(stdout, "%6s %9s %12s %7s\n", "steps", "NFE", "error", "slope")
		for i := range strong.Steps {
			fmt.Fprintf(stdout, "%6d %9.1f %12.4e %7s\n", strong.Steps[i], strong.NFE[i], strong.Err[i], localSlope(strong.Steps, strong.Err, i))
		}
		fmt.Fprintf(stdout, "strong order %.2f\n", strong.Order)
	}
	if werr != nil {
		fmt.Fprintf(stdout, "weak order not measured: %v\n", werr)
		return nil
	}
	fmt.Fprintf(stdout, "weak error: the sample's exact law (no Monte Carlo), max over coordinates of |mean - mean*| + |var - var*| with mean*, var* the reverse SDE's law at eps from the prior (%.2e from the data moments: the cut-off's and the prior's share, which no step count removes); slope as above\n", weak.Floor)
	fmt.Fprintf(stdout, "%6s %9s %12s %12s %12s %7s\n", "steps", "NFE", "error", "mean error", "var error", "slope")
	for i := range weak.Steps {
		fmt.Fprintf(stdout, "%6d %9.1f %12.4e %12.4e %12.4e %7s\n", weak.Steps[i], weak.NFE[i], weak.Err[i], weak.MeanErr[i], weak.VarErr[i], localSlope(weak.Steps, weak.Err, i))
	}
	fmt.Fprintf(stdout, "weak order %.2f\n", weak.Order)
	return nil
}

// freeDraws reports whether the sampler mk(k) asks its noise for normals
// that belong to no time interval (NoiseSource.Normals after the prior
// draw: the Langevin corrector's) on one row of cfg: runs with different
// steps cannot share those, so they have no common path to compare.
func freeDraws(ctx context.Context, cfg sample.Config, mk func(int) (sample.Sampler, error), k int, seed uint64) (bool, error) {
	smp, err := mk(k)
	if err != nil {
		return false, err
	}
	spy := normalsSpy{inner: cfg.Noise, free: new(atomic.Bool)}
	c := cfg
	c.Sampler, c.Noise = smp, spy
	if err := c.Validate(); err != nil {
		return false, err
	}
	x := make([]float64, c.Dim)
	if _, err := sample.Generate(ctx, c, seed, []int{0}, x, nil); err != nil {
		return false, err
	}
	return spy.free.Load(), nil
}

// normalsSpy is a Noise that passes everything to inner and records a
// Normals call after a block's first draw (the prior).
type normalsSpy struct {
	inner sample.Noise
	free  *atomic.Bool
}

func (n normalsSpy) NewSource(d int) sample.NoiseSource {
	return &spySource{src: n.inner.NewSource(d), free: n.free}
}

// BindTime binds the inner noise (a Brownian tree) to [0, T].
func (n normalsSpy) BindTime(T float64) sample.Noise {
	if tb, ok := n.inner.(sample.TimeBinder); ok {
		n.inner = tb.BindTime(T)
	}
	return n
}

// spySource is an AreaSource when its source is one (the tree and Streams
// are), so that the 1.5 methods run through it.
type spySource struct {
	src   sample.NoiseSource
	free  *atomic.Bool
	draws int
}

func (s *spySource) Start(seed uint64, rows []int) { s.draws = 0; s.src.Start(seed, rows) }
func (s *spySource) Next()                         { s.draws++; s.src.Next() }
func (s *spySource) Normals(z []float64, a, c int) {
	if s.draws > 0 {
		s.free.Store(true)
	}
	s.src.Normals(z, a, c)
}
func (s *spySource) Increment(z []float64, a, c int, t0, t1 float64) {
	s.src.Increment(z, a, c, t0, t1)
}
func (s *spySource) IncrementArea(w, hh []float64, a, c int, t0, t1 float64) {
	s.src.(sample.AreaSource).IncrementArea(w, hh, a, c, t0, t1)
}

// runFailed is the error of a check run that failed at k steps.
func runFailed(ctx context.Context, k int, err error) error {
	if err = sampleErr(ctx, err); errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("at %d steps: %v (order measures fixed-step samplers, whose -steps is a step count, not a bound as an adaptive solver's)", k, err)
}

// parseStepsList reads -steps-list: comma-separated step counts >= 1, each
// once.
func parseStepsList(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, f := range splitList(s) {
		k, err := strconv.Atoi(f)
		if err != nil || k < 1 {
			return nil, usagef("-steps-list %s: %q is not a step count >= 1; give comma-separated counts (for example 10,20,40)", s, f)
		}
		if seen[k] {
			return nil, usagef("-steps-list %s: %d is given twice", s, k)
		}
		seen[k] = true
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, usagef("-steps-list %q: give comma-separated step counts (for example 10,20,40)", s)
	}
	return out, nil
}

// stepsUsage turns an error of a sampler at step count k (0: unknown) into
// a usage error when it is the sampler's refusal (an option or an SDE it
// cannot run), and passes other errors through.
func stepsUsage(ctx context.Context, k int, err error) error {
	var oe *sample.OptionError
	var ue *sample.UnsupportedSDEError
	if errors.As(err, &oe) || errors.As(err, &ue) {
		u := optionUsage(err).(*usageError)
		if k > 0 {
			u.msg = fmt.Sprintf("at %d steps: %s", k, u.msg)
		}
		return u
	}
	return sampleErr(ctx, err)
}

// optionValues returns the sampler options given on the command line, by
// name (what samplerFlags.config passes to sample.Configure).
func (f *samplerFlags) optionValues() map[string]string {
	smp, err := sample.New(f.sampler)
	if err != nil {
		return nil
	}
	values := map[string]string{}
	f.fs.Visit(func(fl *flag.Flag) {
		if of, ok := f.opts[fl.Name]; ok && hasSamplerOption(smp, fl.Name) {
			values[fl.Name] = of.value
		}
	})
	return values
}

func hasSamplerOption(s sample.Sampler, name string) bool {
	for _, o := range sample.Options(s) {
		if o.Name == name {
			return true
		}
	}
	return false
}

// flagSet reports whether the flag name was given.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// specText is a sampler with its options as a spec: "ode solver=euler".
func specText(name string, values map[string]string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		if k != "steps" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{name}
	for _, k := range keys {
		parts = append(parts, k+"="+values[k])
	}
	return strings.Join(parts, " ")
}

func sameValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
