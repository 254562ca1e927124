package sample_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/sdekit/sdekit/sample"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// userEuler is a sampler written outside the package with the exported
// Block API only: Steps equal Euler steps from T to eps, on the probability
// flow dx/dt = a(t) x - g(t)^2 score / 2, or (Noisy) Euler-Maruyama on the
// reverse SDE dx = [a x - g^2 score] dt + g dw_bar with the noise of
// Block.Noise.
type userEuler struct {
	Steps int
	Noisy bool
}

func init() {
	sample.Register("user-euler", func() sample.Sampler { return &userEuler{} })
}

func (u *userEuler) Name() string { return "user-euler" }

func (u *userEuler) Options() []sample.Option {
	return []sample.Option{
		sample.IntOption(&u.Steps, "steps", 100, "number of Euler steps"),
		sample.BoolOption(&u.Noisy, "noisy", "Euler-Maruyama on the reverse SDE instead of the probability flow"),
	}
}

func (u *userEuler) Prepare(c *sample.Config) (sample.Plan, error) {
	if u.Steps == 0 {
		u.Steps = 100
	}
	if u.Steps < 1 {
		return nil, fmt.Errorf("user-euler: Steps = %d", u.Steps)
	}
	T := c.SDE.T()
	p := &userPlan{s: c.SDE, noisy: u.Noisy, times: make([]float64, u.Steps+1)}
	for k := range p.times {
		p.times[k] = T + float64(k)*(c.Eps-T)/float64(u.Steps)
	}
	p.times[u.Steps] = c.Eps
	return p, nil
}

type userPlan struct {
	s     sde.SDE
	noisy bool
	times []float64
}

func (p *userPlan) PriorStd() float64 { return p.s.PriorStd() }
func (p *userPlan) Path() []float64   { return p.times }

func (p *userPlan) Run(ctx context.Context, b *sample.Block) error {
	m, d := b.M(), b.D
	x := b.X
	sc, z := b.Scratch(0, m*d), b.Scratch(1, m*d)
	for k := 0; k+1 < len(p.times); k++ {
		if err := sample.Stopped(ctx); err != nil {
			return err
		}
		t, tp := p.times[k], p.times[k+1]
		dt := tp - t
		a, g := p.s.DriftCoef(t), p.s.Diffusion(t)
		b.ScoreAt(sc, x, t, 0, m)
		if p.noisy {
			b.Noise.Increment(z, 0, m, t, tp)
			b.Noise.Next()
			for i := range x {
				x[i] += (a*x[i]-g*g*sc[i])*dt + g*math.Sqrt(-dt)*z[i]
			}
		} else {
			for i := range x {
				x[i] += (a*x[i] - g*g*sc[i]/2) * dt
			}
		}
		if err := b.NonFinite(x, tp); err != nil {
			return err
		}
		b.Save(k+1, x)
	}
	for r := range b.NFE {
		b.NFE[r] += len(p.times) - 1
	}
	return nil
}

// Every registered sampler builds with New under its name; its options have
// distinct names; setting every option to its Default text (through Set,
// and again through Configure) leaves the sampler as New made it once
// prepared, and it samples the same rows, bit for bit.
func TestRegisteredSamplers(t *testing.T) {
	names := sample.Names()
	for _, want := range []string{"em", "pc", "ode", "ddpm", "ddim", "user-euler"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v lacks %s", names, want)
		}
	}
	vp := sde.NewVP()
	m := score.GMM8(vp)
	rows := []int{0, 5, 9}
	run := func(s sample.Sampler) ([]float64, sample.Sampler) {
		c := sample.Config{SDE: vp, Score: m, Sampler: s, Workers: 1}
		x := make([]float64, 2*len(rows))
		if _, err := sample.Generate(context.Background(), c, 4, rows, x, nil); err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if err := c.Validate(); err != nil { // fills the defaults in s
			t.Fatal(err)
		}
		return x, s
	}
	for _, name := range names {
		s, err := sample.New(name)
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		if s.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, s.Name())
		}
		if s2, _ := sample.New(name); s2 == s {
			t.Errorf("New(%q) returned the same sampler twice", name)
		}
		opts := sample.Options(s)
		if len(opts) == 0 {
			t.Errorf("%s has no options", name)
		}
		seen := map[string]bool{}
		values := map[string]string{}
		for _, o := range opts {
			if o.Name == "" || seen[o.Name] {
				t.Errorf("%s: option name %q empty or repeated", name, o.Name)
			}
			seen[o.Name] = true
			if o.Usage == "" || o.Set == nil {
				t.Errorf("%s: option %s without usage or setter", name, o.Name)
			}
			if o.Bool && o.Default != "false" {
				t.Errorf("%s: switch %s defaults to %q", name, o.Name, o.Default)
			}
			if err := o.Set(o.Default); err != nil {
				t.Errorf("%s: option %s: Set(Default %q): %v", name, o.Name, o.Default, err)
			}
			values[o.Name] = o.Default
		}
		byConfigure, err := sample.NewFromOptions(name, values)
		if err != nil {
			t.Errorf("%s: NewFromOptions with the defaults: %v", name, err)
			continue
		}
		fresh, _ := sample.New(name)
		xf, pf := run(fresh)
		for _, s := range []sample.Sampler{s, byConfigure} {
			x, p := run(s)
			if !reflect.DeepEqual(p, pf) {
				t.Errorf("%s: with the default texts set %+v, default %+v", name, p, pf)
			}
			if !slices.Equal(x, xf) {
				t.Errorf("%s: with the default texts set the rows are %v, default %v", name, x, xf)
			}
		}
	}
}

// A sampler of the caller's runs through Generate and Trajectory: its rows
// are the same, bit for bit, whatever Workers, Block and the other rows;
// Trajectory's states are its Path's (the prior first, Generate's sample
// last); Stats.NFE is what it counted. Its noisy form draws the same noise as
// the built-in Euler-Maruyama (the prior, then one increment per step) and
// its flow form makes the built-in fixed-step Euler's steps, so both agree
// with them to rounding (their arithmetic differs: 1e-12).
func TestUserSampler(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewSubVP(), sde.NewVE()} {
		m := score.GMM8(s)
		for _, noisy := range []bool{false, true} {
			const N = 40
			cfg := func(workers, block int) sample.Config {
				return sample.Config{SDE: s, Score: m, Sampler: &userEuler{Steps: N, Noisy: noisy}, Workers: workers, Block: block}
			}
			rows := make([]int, 30)
			for i := range rows {
				rows[i] = i
			}
			x := make([]float64, 60)
			st, err := sample.Generate(context.Background(), cfg(1, 4), 3, rows, x, nil)
			if err != nil {
				t.Fatal(err)
			}
			for r, n := range st.NFE {
				if n != N {
					t.Fatalf("row %d: NFE %d, want %d", r, n, N)
				}
			}
			shard := []int{29, 3, 17, 8, 12}
			y := make([]float64, 2*len(shard))
			if _, err := sample.Generate(context.Background(), cfg(2, 1), 3, shard, y, nil); err != nil {
				t.Fatal(err)
			}
			for k, r := range shard {
				if y[2*k] != x[2*r] || y[2*k+1] != x[2*r+1] {
					t.Errorf("%s noisy=%v: row %d differs between blocks of 4 on one worker and a shard with blocks of 1 on two", s.Name(), noisy, r)
				}
			}
			times, states, err := sample.Trajectory(context.Background(), cfg(2, 3), 3, shard, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(times) != 5 || times[0] != s.T() || len(states) != 5 {
				t.Fatalf("%s: trajectory times %v, %d states", s.Name(), times, len(states))
			}
			c := cfg(1, 1)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			for p := 1; p < 5; p++ {
				want := s.T() + float64(p*N/4)*(c.Eps-s.T())/N
				if p == 4 {
					want = c.Eps
				}
				if times[p] != want {
					t.Errorf("%s: time %d = %v, want %v", s.Name(), p, times[p], want)
				}
			}
			if !slices.Equal(states[4], y) {
				t.Errorf("%s noisy=%v: last state %v, Generate %v", s.Name(), noisy, states[4], y)
			}
			prior := make([]float64, len(y))
			src := sample.Streams{}.NewSource(2)
			src.Start(3, shard)
			src.Normals(prior, 0, len(shard))
			for i := range prior {
				prior[i] *= s.PriorStd()
			}
			if !slices.Equal(states[0], prior) {
				t.Errorf("%s noisy=%v: first state %v, prior draw %v", s.Name(), noisy, states[0], prior)
			}
			var built sample.Sampler = &sample.ProbabilityFlow{Solver: "euler", Steps: N}
			if noisy {
				built = &sample.EulerMaruyama{Steps: N}
			}
			z := make([]float64, 60)
			if _, err := sample.Generate(context.Background(), sample.Config{SDE: s, Score: m, Sampler: built}, 3, rows, z, nil); err != nil {
				t.Fatal(err)
			}
			for i := range z {
				if math.Abs(z[i]-x[i]) > 1e-12*math.Max(1, math.Abs(z[i])) {
					t.Errorf("%s noisy=%v: value %d: user sampler %v, built-in %s %v", s.Name(), noisy, i, x[i], built.Name(), z[i])
					break
				}
			}
		}
	}
	// A registered user sampler is built and configured by name.
	u, err := sample.NewFromOptions("user-euler", map[string]string{"steps": "7", "noisy": "true"})
	if err != nil || *u.(*userEuler) != (userEuler{Steps: 7, Noisy: true}) {
		t.Errorf("NewFromOptions(user-euler): %+v, %v", u, err)
	}
}

// countingNoise wraps Streams and counts its calls and the intervals of the
// increments asked for.
type countingNoise struct {
	normals, increments, nexts atomic.Int64
	badInterval                atomic.Int64 // increments not over a step of the grid
	dt                         float64      // the grid's step, T - eps over N
}

func (n *countingNoise) NewSource(d int) sample.NoiseSource {
	return &countingSource{n: n, NoiseSource: sample.Streams{}.NewSource(d)}
}

type countingSource struct {
	n *countingNoise
	sample.NoiseSource
}

func (s *countingSource) Normals(z []float64, a, c int) {
	s.n.normals.Add(1)
	s.NoiseSource.Normals(z, a, c)
}

func (s *countingSource) Increment(z []float64, a, c int, t0, t1 float64) {
	s.n.increments.Add(1)
	if math.Abs(t0-t1-s.n.dt) > 1e-12 {
		s.n.badInterval.Add(1)
	}
	s.NoiseSource.Increment(z, a, c, t0, t1)
}

func (s *countingSource) Next() {
	s.n.nexts.Add(1)
	s.NoiseSource.Next()
}

// zeroNoise draws zeros: the prior is 0 and every step is its mean.
type zeroNoise struct{}

func (zeroNoise) NewSource(d int) sample.NoiseSource { return zeroSource{d} }

type zeroSource struct{ d int }

func (zeroSource) Start(uint64, []int)                             {}
func (s zeroSource) Normals(z []float64, a, c int)                 { clear(z[a*s.d : c*s.d]) }
func (s zeroSource) Increment(z []float64, a, c int, _, _ float64) { s.Normals(z, a, c) }
func (zeroSource) Next()                                           {}

// Config.Noise is where the draws come from. Wrapping Streams changes
// nothing in the rows, and Euler-Maruyama asks for one Normals per block (the
// prior) and one Increment per step, over the step's own interval, each
// draw ended by one Next. With zero noise, Euler-Maruyama with the exact
// score of Gaussian data N(mu, v0) is the deterministic mean recursion
// m' = (1 + a dt) m - g^2 dt (c mu - m)/v from m = 0 in every row (1e-12).
func TestNoise(t *testing.T) {
	const N, n, block = 50, 20, 8
	vp := sde.NewVP()
	g := score.Gauss(vp, 3)
	base := sample.Config{SDE: vp, Score: g, Sampler: &sample.EulerMaruyama{Steps: N}, Workers: 2, Block: block}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	want := make([]float64, 3*n)
	if _, err := sample.Generate(context.Background(), base, 6, rows, want, nil); err != nil {
		t.Fatal(err)
	}
	cn := &countingNoise{dt: (vp.T() - 1e-3) / N}
	c := base
	c.Noise = cn
	got := make([]float64, 3*n)
	if _, err := sample.Generate(context.Background(), c, 6, rows, got, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("wrapping Streams changed the rows")
	}
	blocks := int64((n + block - 1) / block)
	if cn.normals.Load() != blocks || cn.increments.Load() != blocks*N || cn.nexts.Load() != blocks*(N+1) || cn.badInterval.Load() != 0 {
		t.Errorf("%d blocks: %d Normals, %d Increments (%d not over a grid step), %d Nexts; want %d, %d, 0, %d",
			blocks, cn.normals.Load(), cn.increments.Load(), cn.badInterval.Load(), cn.nexts.Load(), blocks, blocks*N, blocks*(N+1))
	}

	c = base
	c.Noise = zeroNoise{}
	if _, err := sample.Generate(context.Background(), c, 6, rows, got, nil); err != nil {
		t.Fatal(err)
	}
	eps := 1e-3
	for j := 0; j < 3; j++ {
		mu, v0 := g.Means[0][j], g.Stds[0][j]*g.Stds[0][j]
		m := 0.0
		for k := 0; k < N; k++ {
			tk := 1 + float64(k)*(eps-1)/N
			tp := 1 + float64(k+1)*(eps-1)/N
			if k == N-1 {
				tp = eps
			}
			dt := tp - tk
			cc, sd := vp.Marginal(tk)
			v := cc*cc*v0 + sd*sd
			gg := vp.Diffusion(tk)
			m = (1+vp.DriftCoef(tk)*dt)*m - gg*gg*dt*(cc*mu-m)/v
		}
		for i := 0; i < n; i++ {
			if x := got[3*i+j]; math.Abs(x-m) > 1e-12*math.Max(1, math.Abs(m)) {
				t.Fatalf("zero noise, row %d dim %d: %v, mean recursion %v", i, j, x, m)
			}
		}
		if math.Abs(m-want[j]) < 1e-6 {
			t.Errorf("dim %d: the zero-noise sample equals the noisy one", j)
		}
	}
}

// TestNilRows: nil rows are rows 0..len(dst)/D-1, the same bits as listing them.
func TestNilRows(t *testing.T) {
	vp := sde.NewVP()
	cfg := sample.Config{SDE: vp, Score: score.GMM8(vp), Sampler: &sample.EulerMaruyama{Steps: 20}}
	a, b := make([]float64, 2*37), make([]float64, 2*37)
	rows := make([]int, 37)
	for i := range rows {
		rows[i] = i
	}
	if _, err := sample.Generate(context.Background(), cfg, 5, rows, a, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sample.Generate(context.Background(), cfg, 5, nil, b, nil); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("value %d: %v with nil rows, %v with rows listed", i, b[i], a[i])
		}
	}
}

// TestSharedSampler: a sampler prepared once (Config.Validate) is shared by
// concurrent Generate calls without writes (run with -race, as CI does), and
// each call gives the rows a lone call gives.
func TestSharedSampler(t *testing.T) {
	vp := sde.NewVP()
	for _, name := range sample.Names() {
		s, err := sample.New(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := sample.Config{SDE: vp, Score: score.GMM8(vp), Sampler: s, Workers: 1}
		for _, o := range sample.Options(s) {
			if o.Name == "steps" { // fixed-step samplers: a short run
				if err := sample.Configure(s, map[string]string{"steps": "50"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		want := make([]float64, 2*16)
		if _, err := sample.Generate(context.Background(), cfg, 3, nil, want, nil); err != nil {
			t.Fatal(err)
		}
		done := make(chan []float64, 4)
		for range 4 {
			go func() {
				x := make([]float64, 2*16)
				sample.Generate(context.Background(), cfg, 3, nil, x, nil)
				done <- x
			}()
		}
		for range 4 {
			if got := <-done; !slices.Equal(got, want) {
				t.Errorf("%s: a concurrent call gave other rows", name)
			}
		}
	}
}
