package study

import "testing"

// A sampler spec ("unipc order=3 schedule=karras") gives a sampler or an
// error, never a panic, whatever the text: options go through each
// sampler's own checks (sample.Configure).
//
//	go test -run '^$' -fuzz '^FuzzSamplerSpec$' -fuzztime 10s ./study
func FuzzSamplerSpec(f *testing.F) {
	for _, s := range []string{"em", "unipc order=3", "ode solver=heun steps=10", "pc corrector=langevin snr=0.2",
		"dpmpp-3m prediction=noise schedule=karras rho=7", "edm-sde churn=-1", "em steps=0", "em =", "x y=z", "", "ddim eta=2",
		"em noise=tree", "dpm-adaptive rtol=1e-3 max-steps=5", "unipc order=9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		sp, err := ParseSpec(text)
		if err != nil {
			return
		}
		sp.Sampler(10) //nolint: errors are the answer for most inputs
	})
}
