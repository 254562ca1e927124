package sde_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// TestRegistryBuiltins: the built-in kinds are registered, rebuild from their
// Params bit for bit, take the reference defaults for missing keys, reject
// unknown keys and invalid values, and ByName keeps the sub-vp alias.
func TestRegistryBuiltins(t *testing.T) {
	kinds := sde.Kinds()
	for _, k := range []string{"subvp", "ve", "vp"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("Kinds() = %v lacks %q", kinds, k)
		}
	}
	if !slices.IsSorted(kinds) {
		t.Errorf("Kinds() = %v is not sorted", kinds)
	}
	for _, s := range []sde.SDE{&sde.VP{BetaMin: 0, BetaMax: 7.5}, &sde.SubVP{BetaMin: 0.2, BetaMax: 3}, &sde.VE{SigmaMin: 0.002, SigmaMax: 80}} {
		p := s.(sde.Parameterized).Params()
		got, err := sde.New(s.Name(), p)
		if err != nil {
			t.Fatalf("New(%q, %v): %v", s.Name(), p, err)
		}
		if got.Name() != s.Name() || !maps.Equal(got.(sde.Parameterized).Params(), p) {
			t.Errorf("New(%q, %v) = %s %v", s.Name(), p, got.Name(), got.(sde.Parameterized).Params())
		}
	}
	for name, want := range map[string]sde.SDE{"vp": sde.NewVP(), "subvp": sde.NewSubVP(), "sub-vp": sde.NewSubVP(), "ve": sde.NewVE()} {
		got, err := sde.ByName(name)
		if err != nil {
			t.Fatalf("ByName(%q): %v", name, err)
		}
		if got.Name() != want.Name() || !maps.Equal(got.(sde.Parameterized).Params(), want.(sde.Parameterized).Params()) {
			t.Errorf("ByName(%q) = %s %v, want the reference defaults", name, got.Name(), got.(sde.Parameterized).Params())
		}
	}
	if s, err := sde.New("vp", map[string]float64{"beta_max": 5}); err != nil || *s.(*sde.VP) != (sde.VP{BetaMin: 0.1, BetaMax: 5}) {
		t.Errorf("New(vp, beta_max 5) = %v, %v; want beta_min from the defaults", s, err)
	}
	for _, c := range []struct {
		name   string
		params map[string]float64
		want   string
	}{
		{"vpp", nil, "unknown SDE \"vpp\"; use one of edm, subvp, ve, vp"},
		{"vp", map[string]float64{"sigma_max": 5}, "has no parameter \"sigma_max\"; its parameters are beta_min, beta_max"},
		{"ve", map[string]float64{"sigma_min": 2, "sigma_max": 1}, "sigma_min = 2 must be below sigma_max = 1"},
		{"subvp", map[string]float64{"beta_min": 30}, "beta_min = 30 is larger than beta_max = 20"},
	} {
		if _, err := sde.New(c.name, c.params); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %v): %v, want an error containing %q", c.name, c.params, err, c.want)
		}
	}
}

func TestRegisterPanics(t *testing.T) {
	build := func(map[string]float64) (sde.SDE, error) { return sde.NewVP(), nil }
	for _, c := range []struct {
		name  string
		build func(map[string]float64) (sde.SDE, error)
		want  string
	}{
		{"", build, "empty name"},
		{"vp", build, "already registered"},
		{"registry-test-nil", nil, "nil build"},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), c.want) {
					t.Errorf("Register(%q): panic %v, want one containing %q", c.name, r, c.want)
				}
			}()
			sde.Register(c.name, c.build)
		}()
	}
}

// plain is an SDE that declares no defaults: embedding the interface
// promotes only the SDE methods.
type plain struct{ sde.SDE }

func (plain) Name() string { return "plain" }

func TestDefaults(t *testing.T) {
	for _, c := range []struct {
		s                sde.SDE
		eps              float64
		param, ancestral string
	}{
		{sde.NewVP(), 1e-3, "eps", "beta"},
		{sde.NewSubVP(), 1e-3, "eps", "beta"},
		{sde.NewVE(), 1e-5, "sigma", "beta-tilde"},
	} {
		eps, err := sde.DefaultEps(c.s)
		if err != nil || eps != c.eps || sde.DefaultParam(c.s) != c.param || sde.DefaultAncestralVariance(c.s) != c.ancestral {
			t.Errorf("%s: defaults %v %v %q %q, want %v %q %q", c.s.Name(), eps, err, sde.DefaultParam(c.s), sde.DefaultAncestralVariance(c.s), c.eps, c.param, c.ancestral)
		}
	}
	p := plain{sde.NewVE()}
	if _, err := sde.DefaultEps(p); err == nil || !strings.Contains(err.Error(), "the plain SDE declares no default eps") || !strings.Contains(err.Error(), "set Eps explicitly") {
		t.Errorf("DefaultEps(plain): %v", err)
	}
	if sde.DefaultParam(p) != "eps" || sde.DefaultAncestralVariance(p) != "beta" {
		t.Errorf("plain: defaults %q %q, want eps and beta", sde.DefaultParam(p), sde.DefaultAncestralVariance(p))
	}
}
