package study

import (
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// dpmSDEs are the built-in SDEs; the singlestep DPM-Solvers need only the
// marginal's alpha, sigma and lambda, so each must reach its order on all.
func dpmSDEs() []sde.SDE {
	return []sde.SDE{sde.NewVP(), sde.NewEDM(), sde.NewSubVP(), sde.NewVE()}
}

// DPM-Solver-2 and DPM-Solver++(2S) (the same update; dpm-2 in the data
// form is dpmpp-2s) have global order 2 in both forms on every SDE, on the
// logsnr grid of `sdesample order` (10 to 160 steps). Measured: 1.89-2.07.
func TestOrderDPMSolver2(t *testing.T) {
	for _, s := range dpmSDEs() {
		for _, name := range []string{"dpm-2", "dpmpp-2s"} {
			for _, pred := range []string{"noise", "data"} {
				checkOrder(t, s, name, map[string]string{"prediction": pred}, 2)
			}
		}
	}
}

// DPM-Solver-3 has global order 3 in both forms on every SDE. In the noise
// form `sdesample order`'s 10-160 steps show it on vp, edm and ve
// (3.19-3.23). On subvp (3.27) and in the data form everywhere (2.42-2.58)
// that range is not yet asymptotic: the error ratios per doubling run
// 11.2, 10.0, 9.2, 8.6 (subvp noise) and 2.9, 5.9, 7.0, 7.5 (vp data)
// towards 8. The data form's error at 10 steps is ten times below the
// noise form's (1.2e-4 against 1.1e-3 on vp), not its order lower: there
// the next error term cancels part of the leading one. Over 40-640 steps,
// where the ratios are within 20% of 8 and the error (1e-5 to 1e-9) is
// still far above rounding (1e-13), every case is checked; the fit there is
// about 2.9-3.1.
func TestOrderDPMSolver3(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewEDM(), sde.NewVE()} {
		checkOrder(t, s, "dpm-3", map[string]string{"prediction": "noise"}, 3)
	}
	for _, s := range dpmSDEs() {
		for _, pred := range []string{"noise", "data"} {
			checkOrderOver(t, s, "dpm-3", map[string]string{"prediction": pred}, []int{40, 80, 160, 320, 640}, 3)
		}
	}
}
