package sde

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Defaults is implemented by SDEs that declare the defaults samplers and
// trainers use. VP and sub-VP declare eps = 1e-3, the "eps" parameterisation
// and the "beta" ancestral variance; VE declares eps = 1e-5, "sigma" and
// "beta-tilde" (the reference code's choices, see the package doc).
type Defaults interface {
	// DefaultEps is the last time of a sampling grid.
	DefaultEps() float64
	// DefaultParam is a network output's parameterisation: "eps", "sigma" or
	// "score" (see score.Param).
	DefaultParam() string
	// DefaultAncestralVariance is the ancestral predictor's variance: "beta"
	// or "beta-tilde".
	DefaultAncestralVariance() string
}

// DefaultEps returns the sampling cut-off s declares through Defaults, or an
// error when it declares none: there is no cut-off that suits every SDE (it
// depends on how fast s(t) vanishes at 0), so the caller must choose one.
func DefaultEps(s SDE) (float64, error) {
	if d, ok := s.(Defaults); ok {
		return d.DefaultEps(), nil
	}
	return 0, fmt.Errorf("sde: the %s SDE declares no default eps (it does not implement sde.Defaults); set Eps explicitly (a small time in (0, T) where s(t) > 0)", s.Name())
}

// DefaultParam returns the parameterisation s declares through Defaults, or
// "eps": predicting the noise z of x_t = c(t) x_0 + s(t) z works for every SDE
// whose s(t) > 0 on the training times.
func DefaultParam(s SDE) string {
	if d, ok := s.(Defaults); ok {
		return d.DefaultParam()
	}
	return "eps"
}

// DefaultAncestralVariance returns the ancestral predictor's variance s
// declares through Defaults, or "beta" (the forward kernel's variance).
func DefaultAncestralVariance(s SDE) string {
	if d, ok := s.(Defaults); ok {
		return d.DefaultAncestralVariance()
	}
	return "beta"
}

// DefaultEps is 1e-3 (the reference's sampling eps for VP).
func (s *VP) DefaultEps() float64 { return 1e-3 }

// DefaultParam is "eps" (the reference's VP convention).
func (s *VP) DefaultParam() string { return "eps" }

// DefaultAncestralVariance is "beta" (DDPM's sigma_t^2 = beta_t).
func (s *VP) DefaultAncestralVariance() string { return "beta" }

// DefaultEps is 1e-3 (the reference's sampling eps for sub-VP).
func (s *SubVP) DefaultEps() float64 { return 1e-3 }

// DefaultParam is "eps" (the reference's sub-VP convention).
func (s *SubVP) DefaultParam() string { return "eps" }

// DefaultAncestralVariance is "beta", as for VP.
func (s *SubVP) DefaultAncestralVariance() string { return "beta" }

// DefaultEps is 1e-5 (the reference's sampling eps for VE).
func (s *VE) DefaultEps() float64 { return 1e-5 }

// DefaultParam is "sigma" (the reference's NCSN++ VE models scale by sigma).
func (s *VE) DefaultParam() string { return "sigma" }

// DefaultAncestralVariance is "beta-tilde" (the reference's
// AncestralSamplingPredictor for VE uses the posterior variance).
func (s *VE) DefaultAncestralVariance() string { return "beta-tilde" }

// ScheduleDefaulter is implemented by SDEs whose time is a poor clock for
// equal steps (EDM, whose t is the noise level from 0.002 to 80): a solver
// that would step uniformly in t takes the named schedule of package sample
// instead ("karras").
type ScheduleDefaulter interface {
	DefaultSchedule() string
}

// Parameterized SDEs report the parameters that rebuild them with New:
// New(s.Name(), s.Params()) is an SDE equal to s. A checkpoint records the
// name and these parameters.
type Parameterized interface {
	Params() map[string]float64
}

// Params returns beta_min and beta_max.
func (s *VP) Params() map[string]float64 {
	return map[string]float64{"beta_min": s.BetaMin, "beta_max": s.BetaMax}
}

// Params returns beta_min and beta_max.
func (s *SubVP) Params() map[string]float64 {
	return map[string]float64{"beta_min": s.BetaMin, "beta_max": s.BetaMax}
}

// Params returns sigma_min and sigma_max.
func (s *VE) Params() map[string]float64 {
	return map[string]float64{"sigma_min": s.SigmaMin, "sigma_max": s.SigmaMax}
}

var registry = struct {
	sync.RWMutex
	build map[string]func(map[string]float64) (SDE, error)
}{build: map[string]func(map[string]float64) (SDE, error){}}

// Register makes the SDE kind name buildable with New (and so loadable from a
// checkpoint that records it). build receives the recorded parameters; a nil
// map or a missing key means the kind's default for that parameter, and build
// should reject keys it does not know. Register panics when name is empty,
// build is nil or name is already registered (programmer errors; call it from
// an init function). The built-in kinds are "vp", "subvp" and "ve".
func Register(name string, build func(params map[string]float64) (SDE, error)) {
	if name == "" {
		panic("sde: Register with an empty name")
	}
	if build == nil {
		panic(fmt.Sprintf("sde: Register(%q) with a nil build function", name))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.build[name]; dup {
		panic(fmt.Sprintf("sde: Register(%q): the name is already registered", name))
	}
	registry.build[name] = build
}

// New builds the SDE kind name with params (nil or missing keys: the kind's
// defaults) and validates it.
func New(name string, params map[string]float64) (SDE, error) {
	registry.RLock()
	build, ok := registry.build[name]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("sde: unknown SDE %q; use one of %s (or register it with sde.Register)", name, strings.Join(Kinds(), ", "))
	}
	s, err := build(params)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("sde: the build function registered for %q returned no SDE and no error", name)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Kinds returns the registered SDE names, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Sorted(maps.Keys(registry.build))
}

// ByName returns the SDE kind name with its defaults: New(name, nil). It also
// accepts "sub-vp" for "subvp".
func ByName(name string) (SDE, error) {
	if name == "sub-vp" {
		name = "subvp"
	}
	return New(name, nil)
}

// paramReader takes a kind's parameters from a recorded map, with defaults,
// and reports keys the kind does not know.
type paramReader struct {
	kind   string
	params map[string]float64
	known  []string
}

func (r *paramReader) get(key string, def float64) float64 {
	r.known = append(r.known, key)
	if v, ok := r.params[key]; ok {
		return v
	}
	return def
}

func (r *paramReader) err() error {
	for _, k := range slices.Sorted(maps.Keys(r.params)) {
		if !slices.Contains(r.known, k) {
			return fmt.Errorf("sde: the %s SDE has no parameter %q; its parameters are %s", r.kind, k, strings.Join(r.known, ", "))
		}
	}
	return nil
}

func init() {
	Register("vp", func(p map[string]float64) (SDE, error) {
		d := NewVP()
		r := &paramReader{kind: "vp", params: p}
		s := &VP{BetaMin: r.get("beta_min", d.BetaMin), BetaMax: r.get("beta_max", d.BetaMax)}
		return s, r.err()
	})
	Register("subvp", func(p map[string]float64) (SDE, error) {
		d := NewSubVP()
		r := &paramReader{kind: "subvp", params: p}
		s := &SubVP{BetaMin: r.get("beta_min", d.BetaMin), BetaMax: r.get("beta_max", d.BetaMax)}
		return s, r.err()
	})
	Register("ve", func(p map[string]float64) (SDE, error) {
		d := NewVE()
		r := &paramReader{kind: "ve", params: p}
		s := &VE{SigmaMin: r.get("sigma_min", d.SigmaMin), SigmaMax: r.get("sigma_max", d.SigmaMax)}
		return s, r.err()
	})
}
