package model

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/diff/fd"
)

// condConfigs are conditional networks: two hidden layers, none (the label
// embedding then adds to the output), both precisions.
func condConfigs(precision string) []Config {
	return []Config{
		{Dim: 3, Hidden: []int{6, 5}, EmbedDim: 4, FourierScale: 2, Classes: 3, Precision: precision, Seed: 1},
		{Dim: 2, Embedding: EmbeddingSinusoidal, EmbedDim: 2, Classes: 2, Precision: precision, Seed: 4},
	}
}

// condLabels mixes every class and the null label.
func condLabels(n, classes int) []int {
	y := make([]int, n)
	for i := range y {
		y[i] = i%(classes+1) - 1
	}
	return y
}

// TestConditionalParamGradFD checks Backward after ForwardTrainLabels,
// label embedding included, against central differences.
func TestConditionalParamGradFD(t *testing.T) {
	for _, prec := range []string{Float64, Float32} {
		for _, cfg := range condConfigs(prec) {
			t.Run(cfgName(cfg), func(t *testing.T) {
				net := mustNet(t, cfg).(ConditionalTrainable)
				const n = 7
				x, tt, r := batch(31, n, cfg.Dim)
				y := condLabels(n, cfg.Classes)
				out := make([]float64, n*cfg.Dim)
				net.ZeroGrad()
				net.ForwardTrainLabels(out, x, tt, y)
				net.Backward(r)
				got := append([]float64(nil), net.Grads()...)
				p0 := append([]float64(nil), net.Params()...)
				loss := func(p []float64) float64 {
					copy(net.Params(), p)
					net.SyncParams()
					net.ForwardLabels(out, x, tt, y)
					return dot(r, out)
				}
				// Steps and tolerances of TestParamGradFD, for its reasons.
				step, atol, rtol := 1e-5, 1e-8, 1e-8
				if prec == Float32 {
					step, atol, rtol = 1e-2, 2e-4, 2e-4
				}
				want := fd.Gradient(nil, loss, p0, &fd.Settings{Formula: fd.Central, Step: step})
				copy(net.Params(), p0)
				net.SyncParams()
				checkGrad(t, Config{}, "theta", got, want, atol, rtol)
			})
		}
	}
}

// TestConditionalInputVJPFD checks InputVJPLabels against central
// differences of sum(v * f(x, t, y)).
func TestConditionalInputVJPFD(t *testing.T) {
	for _, cfg := range condConfigs(Float64) {
		net := mustNet(t, cfg).(ConditionalTrainable)
		const n = 6
		x, tt, v := batch(32, n, cfg.Dim)
		y := condLabels(n, cfg.Classes)
		got := make([]float64, n*cfg.Dim)
		net.InputVJPLabels(got, v, x, tt, y)
		out := make([]float64, n*cfg.Dim)
		want := fd.Gradient(nil, func(x []float64) float64 {
			net.ForwardLabels(out, x, tt, y)
			return dot(v, out)
		}, x, &fd.Settings{Formula: fd.Central, Step: 1e-5})
		checkGrad(t, cfg, "dx", got, want, 1e-8, 1e-8) // as TestInputVJPFD
	}
}

// TestConditionalLabels checks what the labels select: Forward is the
// NullLabel output; a row's output depends on its own label only; the
// label rows added to the first pre-activation are exactly those of the
// embedding (zeroing the embedding gives one output for all labels).
func TestConditionalLabels(t *testing.T) {
	cfg := condConfigs(Float64)[0]
	net := mustNet(t, cfg).(ConditionalTrainable)
	const n = 4
	x, tt, _ := batch(33, n, cfg.Dim)
	null, lab := make([]float64, n*cfg.Dim), make([]float64, n*cfg.Dim)
	net.Forward(null, x, tt)
	net.ForwardLabels(lab, x, tt, []int{NullLabel, NullLabel, NullLabel, NullLabel})
	if d := cmp.Diff(null, lab); d != "" {
		t.Errorf("Forward differs from NullLabel:\n%s", d)
	}
	net.ForwardLabels(lab, x, tt, []int{0, 1, 2, NullLabel})
	for i := 0; i < 3; i++ {
		if cmp.Equal(lab[i*cfg.Dim:(i+1)*cfg.Dim], null[i*cfg.Dim:(i+1)*cfg.Dim]) {
			t.Errorf("row %d: label %d gives the null output", i, i)
		}
	}
	if d := cmp.Diff(lab[3*cfg.Dim:], null[3*cfg.Dim:]); d != "" {
		t.Errorf("the null row depends on the other rows' labels:\n%s", d)
	}
	p := net.Params()
	clear(p[cfg.NumParams()-(cfg.Classes+1)*cfg.Hidden[0]:])
	net.ForwardLabels(lab, x, tt, []int{0, 1, 2, NullLabel})
	net.Forward(null, x, tt)
	if d := cmp.Diff(null, lab); d != "" {
		t.Errorf("a zero embedding still depends on the label:\n%s", d)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "labels[0] = 3") {
			t.Errorf("label out of range: %v", r)
		}
	}()
	net.ForwardLabels(lab, x, tt, []int{3, 0, 0, 0})
}

// TestUnconditionalUnchanged: Classes = 0 leaves the JSON config without a
// classes field (old checkpoints' configs load and re-encode bit for bit)
// and a conditional network draws the same layer weights as the
// unconditional one of its seed, its embedding after them.
func TestUnconditionalUnchanged(t *testing.T) {
	base := Config{Dim: 2, Hidden: []int{5}, EmbedDim: 4, Seed: 9}
	u := mustNet(t, base)
	js, _ := u.MarshalConfig()
	if strings.Contains(string(js), "classes") {
		t.Errorf("unconditional config mentions classes: %s", js)
	}
	var back Config
	if err := json.Unmarshal(js, &back); err != nil || back.Classes != 0 {
		t.Fatal(err, back.Classes)
	}
	cond := base
	cond.Classes = 4
	c := mustNet(t, cond)
	if got, want := c.NumParams(), u.NumParams()+5*5; got != want {
		t.Errorf("conditional has %d parameters, want %d", got, want)
	}
	if d := cmp.Diff(u.Params(), c.Params()[:u.NumParams()]); d != "" {
		t.Errorf("layer weights differ:\n%s", d)
	}
	if d := cmp.Diff(u.Buffers(), c.Buffers()); d != "" {
		t.Errorf("buffers differ:\n%s", d)
	}
	cj, _ := c.MarshalConfig()
	rebuilt, err := Build(KindMLP, cj, c.Params(), c.Buffers())
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.(Conditional).Classes() != 4 {
		t.Error("Build lost the classes")
	}
}
