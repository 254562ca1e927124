package sample

import (
	"fmt"
	"runtime"

	"github.com/sdekit/sdekit/sde"
)

// Config describes one sampling run: the problem (SDE, score), the sampler
// with its own options, and how the work is spread. The zero values of the
// optional fields select the defaults written next to them; Validate fills
// them in.
type Config struct {
	SDE   sde.SDE
	Score sde.Score
	// Dim, when > 0, is the data dimension the caller expects; a Score whose
	// Dim() differs is an error. 0 accepts Score.Dim().
	Dim int

	// Sampler is the method and its options; nil selects
	// &EulerMaruyama{} (1000 steps). Validate prepares it, filling its
	// defaults in place.
	Sampler Sampler
	// Eps is the last time of the reverse grid (the first of the solve);
	// 0 selects the SDE's default (sde.DefaultEps: 1e-3 for VP and sub-VP,
	// 1e-5 for VE).
	Eps float64
	// Noise is where the Gaussian draws come from; nil selects the
	// sampler's default (NoiseChooser: a Brownian tree for the methods that
	// need one), else Streams{}, a counter-based stream per row.
	Noise Noise

	Workers int // goroutines; 0 => runtime.NumCPU(). Results are identical for any value.
	Block   int // rows per score call and work unit; 0 => min(256, max(8, 8192/D))
}

// Validate fills the defaults of Config, prepares the sampler and reports
// the first problem, with a message that names the field and what to do.
func (c *Config) Validate() error {
	_, err := c.prepare()
	return err
}

// prepare is Validate that also returns the sampler's plan.
func (c *Config) prepare() (Plan, error) {
	if c.SDE == nil {
		return nil, fmt.Errorf("sample: Config.SDE is nil; set it to sde.NewVP(), sde.NewSubVP(), sde.NewVE() or an SDE of your own")
	}
	if err := c.SDE.Validate(); err != nil {
		return nil, fmt.Errorf("sample: Config.SDE: %w", err)
	}
	if c.Score == nil {
		return nil, fmt.Errorf("sample: Config.Score is nil; set it to an exact score (package score) or a network score")
	}
	d := c.Score.Dim()
	if d < 1 {
		return nil, fmt.Errorf("sample: Config.Score.Dim() = %d; a score needs a dimension >= 1", d)
	}
	if c.Dim < 0 {
		return nil, fmt.Errorf("sample: Config.Dim = %d; use the data dimension, or 0 to take Score.Dim()", c.Dim)
	}
	if c.Dim > 0 && c.Dim != d {
		return nil, fmt.Errorf("sample: Config.Score has dimension %d but Config.Dim is %d; use a score trained on data of dimension %d", d, c.Dim, c.Dim)
	}
	c.Dim = d
	T := c.SDE.T()
	if c.Sampler == nil {
		c.Sampler = &EulerMaruyama{}
	}
	if c.Eps == 0 {
		eps, err := sde.DefaultEps(c.SDE)
		if err != nil {
			return nil, fmt.Errorf("sample: Config.Eps is 0: %w", err)
		}
		c.Eps = eps
	}
	if !(c.Eps > 0 && c.Eps < T) {
		return nil, fmt.Errorf("sample: Config.Eps = %v: the time cut-off must lie strictly between 0 and T = %v (0 selects the SDE's default)", c.Eps, T)
	}
	if c.Noise == nil {
		c.Noise = Streams{}
		if nc, ok := c.Sampler.(NoiseChooser); ok {
			c.Noise = nc.DefaultNoise()
		}
	}
	if tb, ok := c.Noise.(TimeBinder); ok {
		c.Noise = tb.BindTime(T)
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.Workers < 0 {
		return nil, fmt.Errorf("sample: Config.Workers = %d; use >= 1, or 0 for one per CPU", c.Workers)
	}
	if c.Block == 0 {
		c.Block = min(256, max(8, 8192/d))
	}
	if c.Block < 0 {
		return nil, fmt.Errorf("sample: Config.Block = %d; use >= 1 rows, or 0 for the default", c.Block)
	}
	p, err := c.Sampler.Prepare(c)
	if err != nil {
		return nil, err
	}
	return p, nil
}
