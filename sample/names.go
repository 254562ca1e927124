package sample

// The built-in samplers by name: the one table the command line, the
// benchmark and the notebooks read (through New, Names and Options). A new
// sampler is one file with its type and one line here.
func init() {
	Register("em", func() Sampler { return &EulerMaruyama{} })
	Register("pc", func() Sampler { return &PC{} })
	Register("ode", func() Sampler { return &ProbabilityFlow{} })
	Register("ddpm", func() Sampler { return &DDPM{} })
	Register("ddim", func() Sampler { return &DDIM{} })
	Register("edm-euler", func() Sampler { return &EDMEuler{} })
	Register("edm-heun", func() Sampler { return &EDMHeun{} })
	Register("edm-sde", func() Sampler { return &EDMStochastic{} })
	Register("dpm-2", func() Sampler { return &DPMSolver2{} })
	Register("dpm-3", func() Sampler { return &DPMSolver3{} })
	Register("dpmpp-2s", func() Sampler { return &DPMSolverPP2S{} })
	Register("dpm-adaptive", func() Sampler { return &DPMAdaptive{} })
	Register("dpmpp-2m", func() Sampler { return &DPMPP2M{} })
	Register("dpmpp-3m", func() Sampler { return &DPMPP3M{} })
	Register("dpmpp-2m-sde", func() Sampler { return &DPMPP2MSDE{} })
	Register("unipc", func() Sampler { return &UniPC{} })
	Register("sra1", func() Sampler { return &SRA1{} })
	Register("shark", func() Sampler { return &ShARK{} })
	Register("stochastic-heun", func() Sampler { return &StochasticHeun{} })
	Register("reversible-heun", func() Sampler { return &ReversibleHeun{} })
	Register("adaptive-sde", func() Sampler { return &AdaptiveSDE{} })
}
