package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// guideFlags are sample's and trajectory's conditional-generation flags:
// -class k alone samples p(x | k); -guidance w adds classifier-free
// guidance; -classifier FILE (or exact) with -classifier-scale s is
// classifier guidance of the unconditional -score.
type guideFlags struct {
	class           int
	guidance        float64
	classifier      string
	classifierScale float64
	fs              *flag.FlagSet
	// mc is the exact classes of a mixture -score, once resolved.
	mc *score.MixtureClasses
}

// exactClassifier is -classifier's value for a mixture's own classifier.
const exactClassifier = "exact"

func (g *guideFlags) register(fs *flag.FlagSet) {
	g.fs = fs
	fs.IntVar(&g.class, "class", -1, "sample class k (0..C-1) only: for gmm8, gauss:D and mixture:FILE.json the classes are the mixture's components; for a checkpoint, the conditional network's labels; -1: unconditional")
	fs.Float64Var(&g.guidance, "guidance", 0, "classifier-free guidance weight w with -class: the score (1+w) s(x|k) - w s(x); 0 is the conditional score itself")
	fs.StringVar(&g.classifier, "classifier", "", "classifier guidance with -class: a classifier checkpoint (sdesample train-classifier), or exact for the mixture's own p_t(k|x); the score is s(x) + scale grad log p_t(k|x)")
	fs.Float64Var(&g.classifierScale, "classifier-scale", 1, "classifier guidance scale with -classifier (1: the conditional score when the classifier is exact)")
}

// check validates the flags on their own, before any file is read.
func (g *guideFlags) check() error {
	if math.IsNaN(g.guidance) || math.IsInf(g.guidance, 0) {
		return usagef("-guidance %v: the weight must be a finite number (typical 0 to 5)", g.guidance)
	}
	if math.IsNaN(g.classifierScale) || math.IsInf(g.classifierScale, 0) {
		return usagef("-classifier-scale %v: the scale must be a finite number (typical 1 to 10)", g.classifierScale)
	}
	if g.class < -1 {
		return usagef("-class %d: a class is a label 0..C-1 (or -1 for unconditional sampling)", g.class)
	}
	if g.class == -1 {
		switch {
		case g.guidance != 0:
			return usagef("-guidance %g steers toward a class: give -class k too (and a conditional model: gmm8, gauss:D, mixture:FILE.json or a conditional checkpoint)", g.guidance)
		case g.classifier != "":
			return usagef("-classifier %s guides toward a class: give -class k too", g.classifier)
		case flagChanged(g.fs, "classifier-scale"):
			return usagef("-classifier-scale %g is the strength of -classifier: give -classifier FILE and -class k too", g.classifierScale)
		}
		return nil
	}
	if g.classifier == "" && flagChanged(g.fs, "classifier-scale") {
		return usagef("-classifier-scale %g is the strength of -classifier: give -classifier FILE (or exact) too, or use -guidance for classifier-free guidance", g.classifierScale)
	}
	if g.classifier != "" && g.guidance != 0 {
		return usagef("-guidance %g with -classifier %s: -guidance is classifier-free guidance's weight; give the classifier's strength with -classifier-scale instead", g.guidance, g.classifier)
	}
	return nil
}

// active reports whether the run is conditional.
func (g *guideFlags) active() bool { return g.class >= 0 }

// resolve builds the conditional or guided score of -score spec under s.
// It returns nil for an unconditional run (resolveScore then does the work).
func (g *guideFlags) resolve(spec string, s sde.SDE) (*problem, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	if !g.active() {
		return nil, nil
	}
	isCkpt := strings.EqualFold(filepath.Ext(spec), ".ckpt")
	var p *problem
	var mc *score.MixtureClasses
	if isCkpt && g.classifier == "" {
		// A conditional network: its own labels, its own null label.
		lab, shape, err := loadLabeledNet("score", spec, s)
		if err != nil {
			return nil, err
		}
		p = &problem{Spec: spec, SDE: s, Inputs: []string{spec}, Shape: shape}
		if err := g.checkClass(lab.Classes(), "the conditional network "+spec); err != nil {
			return nil, err
		}
		gs, err := score.NewCFG(lab, g.class, g.guidance)
		if err != nil {
			return nil, usagef("-class %d: %s", g.class, strings.TrimPrefix(err.Error(), "score: "))
		}
		p.Score = gs
	} else {
		var err error
		if p, err = resolveScore(spec, s); err != nil {
			return nil, err
		}
		if p.Mix != nil {
			if mc, err = score.NewMixtureClasses(p.Mix, nil); err != nil {
				return nil, fmt.Errorf("-score %s: %s", spec, strings.TrimPrefix(err.Error(), "score: "))
			}
			if err := g.checkClass(mc.Classes(), "-score "+spec+" (a mixture: its classes are its components)"); err != nil {
				return nil, err
			}
		}
		switch {
		case g.classifier != "":
			if err := g.classifierGuided(p, mc, s); err != nil {
				return nil, err
			}
		default:
			gs, err := score.NewCFG(mc, g.class, g.guidance)
			if err != nil {
				return nil, usagef("-class %d: %s", g.class, strings.TrimPrefix(err.Error(), "score: "))
			}
			p.Score = gs
		}
	}
	g.mc = mc
	p.Spec += g.describe()
	return p, nil
}

// classifierGuided sets p.Score to the classifier guidance of p's score.
func (g *guideFlags) classifierGuided(p *problem, mc *score.MixtureClasses, s sde.SDE) error {
	var cls score.ClassGradient
	if g.classifier == exactClassifier {
		if mc == nil {
			return usagef("-classifier exact is the mixture's own classifier; it needs an exact -score (gmm8, gauss:D or mixture:FILE.json), not %s: give a classifier checkpoint instead", p.Spec)
		}
		cls = mc
	} else {
		c, err := loadClassifier("classifier", g.classifier, p.Score.Dim(), s)
		if err != nil {
			return err
		}
		if c.Dim() != p.Score.Dim() {
			return usagef("-classifier %s takes data of dimension %d, but -score %s has dimension %d; give a classifier trained on the same data", g.classifier, c.Dim(), p.Spec, p.Score.Dim())
		}
		if err := g.checkClass(c.Classes(), "-classifier "+g.classifier); err != nil {
			return err
		}
		cls = c
		p.Classifier = g.classifier
	}
	gs, err := score.NewClassifierGuided(p.Score, cls, g.class, g.classifierScale)
	if err != nil {
		return usagef("-classifier %s: %s", g.classifier, strings.TrimPrefix(err.Error(), "score: "))
	}
	p.Score = gs
	return nil
}

// checkClass rejects -class outside 0..n-1 of what (the model's name).
func (g *guideFlags) checkClass(n int, what string) error {
	if g.class >= n {
		return usagef("-class %d: %s has classes 0 to %d", g.class, what, n-1)
	}
	return nil
}

// describe is the guidance in the words of the run's summary line.
func (g *guideFlags) describe() string {
	switch {
	case g.classifier != "":
		return fmt.Sprintf(", class %d, classifier %s scale %g", g.class, g.classifier, g.classifierScale)
	case g.guidance != 0:
		return fmt.Sprintf(", class %d, guidance %g", g.class, g.guidance)
	}
	return fmt.Sprintf(", class %d", g.class)
}

// classTally measures a conditional run on an exact mixture as it is
// written: the fraction of samples nearest (Euclidean) to a mean of the
// chosen class's components, c(eps) mu_k, and the samples' mean and
// variance per coordinate beside the class's exact marginal at eps (whose
// moments the samples match when -guidance and -classifier-scale leave the
// conditional score unchanged).
type classTally struct {
	mc     *score.MixtureClasses
	class  int
	c, sd  float64 // marginal scale and std at eps
	inCls  []bool  // per component: in the class
	n      int
	near   int
	s1, s2 []float64 // per coordinate: sums of x and x^2 (shifted by shift)
	shift  []float64
	// guided: the score is not the class's own (w != 0, or a classifier
	// scale != 1), so p_eps(x|class) is a reference, not the target.
	guided bool
}

// newClassTally returns nil unless the run is conditional on an exact
// mixture.
func (g *guideFlags) newClassTally(eps float64, s sde.SDE) *classTally {
	if g.mc == nil {
		return nil
	}
	mc, ok := g.mc.ForSDE(s)
	if ok != nil {
		return nil
	}
	ct := &classTally{mc: mc.(*score.MixtureClasses), class: g.class}
	ct.guided = g.guidance != 0 || (g.classifier != "" && g.classifierScale != 1)
	ct.c, ct.sd = s.Marginal(eps)
	ct.inCls = make([]bool, g.mc.Mixture().K())
	for _, k := range g.mc.Group(g.class) {
		ct.inCls[k] = true
	}
	d := g.mc.Dim()
	ct.s1, ct.s2 = make([]float64, d), make([]float64, d)
	ct.shift, _ = ct.exact()
	return ct
}

// exact returns the class's mean and variance per coordinate at eps.
func (ct *classTally) exact() (mean, variance []float64) {
	m, v := ct.mc.Class(ct.class).DataMoments()
	for j := range m {
		m[j] *= ct.c
		v[j] = ct.c*ct.c*v[j] + ct.sd*ct.sd
	}
	return m, v
}

// add counts rows x.
func (ct *classTally) add(x []float64) {
	if ct == nil {
		return
	}
	mix := ct.mc.Mixture()
	d := mix.Dim()
	for o := 0; o+d <= len(x); o += d {
		best, bd := 0, math.Inf(1)
		for k, mu := range mix.Means {
			var q float64
			for j, v := range x[o : o+d] {
				e := v - ct.c*mu[j]
				q += e * e
			}
			if q < bd {
				best, bd = k, q
			}
		}
		if ct.inCls[best] {
			ct.near++
		}
		for j, v := range x[o : o+d] {
			e := v - ct.shift[j]
			ct.s1[j] += e
			ct.s2[j] += e * e
		}
		ct.n++
	}
}

// print writes the tally: the fraction nearest the class, then the moments
// of the first coordinates with the class's exact ones and the standard
// errors of those (sqrt(v/n) for a mean, v sqrt(2/(n-1)) for a variance).
func (ct *classTally) print(w io.Writer) {
	if ct == nil || ct.n < 2 {
		return
	}
	n := float64(ct.n)
	fmt.Fprintf(w, "class %d: %.2f %% of %d samples nearest a mean c(eps) mu_k of its components %v\n", ct.class, 100*float64(ct.near)/n, ct.n, ct.mc.Group(ct.class))
	em, ev := ct.exact()
	for j := range min(len(em), 4) {
		m := ct.s1[j] / n
		v := (ct.s2[j] - n*m*m) / (n - 1)
		fmt.Fprintf(w, "  x%d: mean %.5f, p_eps(x|class) %.5f (%+.1f standard errors); variance %.5f, p_eps(x|class) %.5f (%+.1f)\n",
			j, ct.shift[j]+m, em[j], m/math.Sqrt(ev[j]/n), v, ev[j], (v-ev[j])/(ev[j]*math.Sqrt(2/(n-1))))
	}
	if ct.guided {
		fmt.Fprintln(w, "  (guided: the samples are not meant to follow p_eps(x|class), which is the target only without guidance; docs/cli.md, Conditional sampling and guidance)")
	}
}
