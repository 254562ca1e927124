package study

import (
	"testing"

	"github.com/sdekit/sdekit/sde"
)

// The global orders of the multistep exponential integrators on gauss:4
// against the exact flow (checkOrder: the slope over 10..160 steps within
// 0.25 of the theory).
func TestOrderMultistep(t *testing.T) {
	for _, s := range []sde.SDE{sde.NewVP(), sde.NewEDM(), sde.NewSubVP(), sde.NewVE()} {
		checkOrder(t, s, "dpmpp-2m", nil, 2)
		checkOrder(t, s, "dpmpp-2m", map[string]string{"prediction": "noise"}, 2)
		checkOrder(t, s, "dpmpp-3m", nil, 3)
		checkOrder(t, s, "unipc", nil, 3)
	}
}
