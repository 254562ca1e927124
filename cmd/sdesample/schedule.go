package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sde"
)

func init() {
	register("schedule", "print the discrete DDPM/SMLD schedule beside the continuous SDE marginals", runSchedule)
}

func runSchedule(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("schedule", stderr)
	name := fs.String("sde", "vp", "forward SDE with a discrete chain: vp (DDPM) or ve (SMLD)")
	steps := fs.Int("steps", 1000, "number of discrete steps N")
	every := fs.Int("every", 0, "print every k-th step (0: about 20 rows)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *steps < 2 {
		return usagef("-steps %d: use at least 2", *steps)
	}
	if *every < 0 {
		return usagef("-every %d: use 0 or a positive number", *every)
	}
	k := *every
	if k == 0 {
		k = max(1, *steps/20)
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	defer tw.Flush()
	s, err := resolveSDE(*name)
	if err != nil {
		return err
	}
	switch g := s.(type) {
	case sde.BetaGrid:
		vp := g
		d, err := discretize.FromVP(vp, *steps)
		if err != nil {
			return usagef("%v", err)
		}
		fmt.Fprintf(stdout, "DDPM schedule from the %s SDE (%s), N = %d: beta_i from %g to %g\n",
			s.Name(), paramText(s), *steps, d.Betas[0], d.Betas[d.N()-1])
		fmt.Fprintln(tw, "i\tt_i\tbeta_i\tsqrt(abar_i)\tc(t_i)\t1-abar_i\ts(t_i)^2\t|gap|\t")
		worst, worstI := 0.0, 0
		for i := 0; i < d.N(); i++ {
			t := d.Time(i)
			c, s := vp.Marginal(t)
			gap := math.Max(math.Abs(math.Sqrt(d.AlphaBars[i])-c), math.Abs(1-d.AlphaBars[i]-s*s))
			if gap > worst {
				worst, worstI = gap, i
			}
			if i%k == 0 || i == d.N()-1 {
				fmt.Fprintf(tw, "%d\t%.4f\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.2e\t\n", i, t, d.Betas[i], math.Sqrt(d.AlphaBars[i]), c, 1-d.AlphaBars[i], s*s, gap)
			}
		}
		tw.Flush()
		fmt.Fprintf(stdout, "largest gap between the discrete chain and the VP marginals: %.3e at step %d (t = %.4f)\n", worst, worstI, d.Time(worstI))
		fmt.Fprintf(stdout, "prior term L_T for data at |x_0| = 1: %.3e bits/dim (alpha-bar_T = %.4e)\n", d.PriorTermBits([]float64{1}), d.AlphaBars[d.N()-1])
	case sde.SigmaGrid:
		ve := g
		sig, err := discretize.SMLDSigmas(ve, *steps)
		if err != nil {
			return usagef("%v", err)
		}
		fmt.Fprintf(stdout, "SMLD noise levels from the %s SDE (%s), N = %d, geometric\n", s.Name(), paramText(s), *steps)
		fmt.Fprintln(tw, "i\tt_i\tsigma_i\tsigma(t_i)\tG_i^2\tg(t_i)^2/N\t|gap|\t")
		worst, worstI := 0.0, 0
		for i, s := range sig {
			t := float64(i) / float64(*steps-1)
			_, st := ve.Marginal(t)
			prev := 0.0
			if i > 0 {
				prev = sig[i-1]
			}
			g := ve.Diffusion(t)
			gap := math.Abs(s-st) / st
			if gap > worst {
				worst, worstI = gap, i
			}
			if i%k == 0 || i == len(sig)-1 {
				fmt.Fprintf(tw, "%d\t%.4f\t%.6g\t%.6g\t%.6g\t%.6g\t%.2e\t\n", i, t, s, st, s*s-prev*prev, g*g/float64(*steps-1), gap)
			}
		}
		tw.Flush()
		fmt.Fprintf(stdout, "largest relative gap between sigma_i and sigma(t_i): %.3e at step %d\n", worst, worstI)
	default:
		return usagef("-sde %q: the %s SDE has no discrete chain (sde.BetaGrid or sde.SigmaGrid); use vp or ve", *name, s.Name())
	}
	return nil
}

// paramText lists an SDE's parameters, "beta_max 20, beta_min 0.1".
func paramText(s sde.SDE) string {
	p, ok := s.(sde.Parameterized)
	if !ok {
		return "no parameters reported"
	}
	keys := make([]string, 0, len(p.Params()))
	for k := range p.Params() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %g", k, p.Params()[k])
	}
	return strings.Join(parts, ", ")
}
