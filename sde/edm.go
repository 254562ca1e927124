package sde

import (
	"fmt"
	"math"
)

// EDM is the variance-exploding SDE of Karras, Aittala, Aila and Laine 2022
// ("Elucidating the design space of diffusion-based generative models",
// eq. 4 with s(t) = 1, sigma(t) = t): time is the noise level,
//
//	dx = sqrt(2 t) dw,  x_t = x_0 + t z,
//
// on [0, SigmaMax], with the prior N(0, SigmaMax^2 I). The paper's defaults
// are sigma_min = 0.002 and sigma_max = 80; sigma_min is where sampling
// stops (DefaultEps).
type EDM struct {
	SigmaMin, SigmaMax float64
}

// NewEDM returns the EDM SDE with the paper's sigma_min = 0.002, sigma_max = 80.
func NewEDM() *EDM { return &EDM{SigmaMin: 0.002, SigmaMax: 80} }

func (s *EDM) Name() string { return "edm" }

// T is sigma_max: the time is the noise level.
func (s *EDM) T() float64 { return s.SigmaMax }

func (s *EDM) DriftCoef(float64) float64 { return 0 }

// Diffusion returns g(t) = sqrt(d sigma^2/dt) = sqrt(2 t).
func (s *EDM) Diffusion(t float64) float64 { return math.Sqrt(2 * t) }

// Marginal returns (1, t).
func (s *EDM) Marginal(t float64) (float64, float64) {
	checkTime(t, s.SigmaMax)
	return 1, t
}

func (s *EDM) PriorStd() float64 { return s.SigmaMax }

func (s *EDM) Validate() error {
	switch {
	case !(s.SigmaMin > 0) || math.IsInf(s.SigmaMin, 0):
		return fmt.Errorf("sde: edm sigma_min = %v must be finite and > 0", s.SigmaMin)
	case math.IsNaN(s.SigmaMax) || math.IsInf(s.SigmaMax, 0):
		return fmt.Errorf("sde: edm sigma_max = %v must be finite", s.SigmaMax)
	case s.SigmaMin >= s.SigmaMax:
		return fmt.Errorf("sde: edm sigma_min = %v must be below sigma_max = %v", s.SigmaMin, s.SigmaMax)
	}
	return nil
}

// DefaultEps is sigma_min: the paper's last noise level.
func (s *EDM) DefaultEps() float64 { return s.SigmaMin }

// DefaultParam is "sigma": the network predicts sigma(t) times the score, as
// for VE.
func (s *EDM) DefaultParam() string { return "sigma" }

// DefaultAncestralVariance is "beta-tilde", as for VE (no drift).
func (s *EDM) DefaultAncestralVariance() string { return "beta-tilde" }

// DefaultSchedule is "karras" (sde.ScheduleDefaulter): t = sigma spans
// 0.002..80, so equal steps in t cross all of sigma < 1 in one step.
func (s *EDM) DefaultSchedule() string { return "karras" }

// Params returns sigma_min and sigma_max.
func (s *EDM) Params() map[string]float64 {
	return map[string]float64{"sigma_min": s.SigmaMin, "sigma_max": s.SigmaMax}
}

// TimeAtLogSNR inverts lambda(t) = -log t.
func (s *EDM) TimeAtLogSNR(lambda float64) float64 { return math.Exp(-lambda) }

func init() {
	Register("edm", func(p map[string]float64) (SDE, error) {
		d := NewEDM()
		r := &paramReader{kind: "edm", params: p}
		s := &EDM{SigmaMin: r.get("sigma_min", d.SigmaMin), SigmaMax: r.get("sigma_max", d.SigmaMax)}
		return s, r.err()
	})
}
