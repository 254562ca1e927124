package score

import (
	"fmt"
	"math"

	"github.com/sdekit/sdekit/sde"
)

// CFG is classifier-free guidance (Ho and Salimans 2022) as a score: for a
// Labeled model, class Class and weight Weight = w,
//
//	s_w(x, t) = (1 + w) s_t(x | c) - w s_t(x) = s_t(x | c) + w (s_t(x | c) - s_t(x)),
//
// the score of the tilted density p_t(x | c)^(1+w) p_t(x)^(-w) (up to its
// normalising constant) at every t. It is an sde.Score, so every sampler
// takes it. The sampler's output is not that tilted density at t = 0 in
// general: see the package documentation. Build it with NewCFG, which also
// keeps an exact model exact (sde.ExactScore) and gives it a VJP.
type CFG struct {
	Model  Labeled
	Class  int
	Weight float64
}

// NewCFG checks class and weight and returns classifier-free guidance of
// model. When model is a MixtureClasses the result is also an
// sde.ExactScore (DDPM and DDIM re-base it on the chain's marginals) and
// has VJPTo (the likelihood's probability flow takes it).
func NewCFG(model Labeled, class int, w float64) (sde.Score, error) {
	if model == nil {
		return nil, fmt.Errorf("score: classifier-free guidance needs a conditional model")
	}
	if err := checkClass(class, model.Classes()); err != nil {
		return nil, err
	}
	if math.IsNaN(w) || math.IsInf(w, 0) {
		return nil, fmt.Errorf("score: guidance weight %v must be finite", w)
	}
	g := CFG{Model: model, Class: class, Weight: w}
	if mc, ok := model.(*MixtureClasses); ok {
		return exactCFG{g, mc}, nil
	}
	return g, nil
}

func checkClass(c, n int) error {
	if c < 0 || c >= n {
		return fmt.Errorf("score: class %d is outside the model's classes 0..%d", c, n-1)
	}
	return nil
}

// Dim returns the model's dimension.
func (g CFG) Dim() int { return g.Model.Dim() }

// ScoreTo writes s_t(x | c) + w (s_t(x | c) - s_t(x)). With w = 0 it is the
// conditional score to the bit and the unconditional one is not evaluated.
func (g CFG) ScoreTo(dst, x, t []float64) {
	n := len(t)
	sc := getScratch(n*g.Model.Dim(), n)
	for i := range sc.l {
		sc.l[i] = g.Class
	}
	g.Model.LabelScoreTo(dst, x, t, sc.l)
	if g.Weight != 0 {
		for i := range sc.l {
			sc.l[i] = NullLabel
		}
		g.Model.LabelScoreTo(sc.f, x, t, sc.l)
		w := g.Weight
		for i, u := range sc.f {
			dst[i] += w * (dst[i] - u)
		}
	}
	rowsPool.Put(sc)
}

// exactCFG is CFG of a mixture's classes: exact, re-based by ForSDE, with
// the VJP (1 + w) J_c v - w J v.
type exactCFG struct {
	CFG
	mc *MixtureClasses
}

func (g exactCFG) ForSDE(s sde.SDE) (sde.Score, error) {
	m, err := g.mc.ForSDE(s)
	if err != nil {
		return nil, err
	}
	return NewCFG(m.(*MixtureClasses), g.Class, g.Weight)
}

// VJPTo writes v^T (d s_w/dx) for each row.
func (g exactCFG) VJPTo(dst, v, x, t []float64) {
	n := len(t)
	sc := getScratch(n*g.mc.Dim(), n)
	for i := range sc.l {
		sc.l[i] = g.Class
	}
	g.mc.LabelVJPTo(dst, v, x, t, sc.l)
	if g.Weight != 0 {
		g.mc.mix.VJPTo(sc.f, v, x, t)
		w := g.Weight
		for i, u := range sc.f {
			dst[i] += w * (dst[i] - u)
		}
	}
	rowsPool.Put(sc)
}

// ClassifierGuided is classifier guidance (Dhariwal and Nichol 2021;
// Song et al. 2021, section 5) as a score: a base score plus Scale times a
// noise-conditional classifier's gradient,
//
//	s(x, t) = s_t(x) + scale grad_x log p_t(c | x),
//
// the score of p_t(x) p_t(c | x)^scale. With the exact classifier and
// scale 1 it is the conditional score s_t(x | c) (Bayes' rule); with
// scale gamma it equals classifier-free guidance with w = gamma - 1 when
// both use the same exact densities. Build it with NewClassifierGuided.
type ClassifierGuided struct {
	Base       sde.Score
	Classifier ClassGradient
	Class      int
	Scale      float64
}

// NewClassifierGuided checks the classifier against the base score and
// returns classifier guidance toward class. When the base is a Mixture (or
// a MixtureClasses) and the classifier a MixtureClasses, the result is an
// sde.ExactScore (ForSDE re-bases both) with a VJP.
func NewClassifierGuided(base sde.Score, cls ClassGradient, class int, scale float64) (sde.Score, error) {
	if base == nil || cls == nil {
		return nil, fmt.Errorf("score: classifier guidance needs a base score and a classifier")
	}
	if cls.Dim() != base.Dim() {
		return nil, fmt.Errorf("score: the classifier takes data of dimension %d, the score has dimension %d", cls.Dim(), base.Dim())
	}
	if err := checkClass(class, cls.Classes()); err != nil {
		return nil, err
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) {
		return nil, fmt.Errorf("score: classifier scale %v must be finite", scale)
	}
	g := ClassifierGuided{Base: base, Classifier: cls, Class: class, Scale: scale}
	mc, okC := cls.(*MixtureClasses)
	bm := baseMixture(base)
	if okC && bm != nil {
		return exactClassifierGuided{g, bm, mc}, nil
	}
	return g, nil
}

// baseMixture returns the mixture of an exact base score, or nil.
func baseMixture(s sde.Score) *Mixture {
	switch b := s.(type) {
	case *Mixture:
		return b
	case *MixtureClasses:
		return b.mix
	}
	return nil
}

// Dim returns the base score's dimension.
func (g ClassifierGuided) Dim() int { return g.Base.Dim() }

// ScoreTo writes s_t(x) + scale grad log p_t(c | x).
func (g ClassifierGuided) ScoreTo(dst, x, t []float64) {
	g.Base.ScoreTo(dst, x, t)
	if g.Scale == 0 {
		return
	}
	n := len(t)
	sc := getScratch(n*g.Base.Dim(), n)
	for i := range sc.l {
		sc.l[i] = g.Class
	}
	g.Classifier.LogProbGradTo(sc.f, x, t, sc.l)
	sg := g.Scale
	for i, u := range sc.f {
		dst[i] += sg * u
	}
	rowsPool.Put(sc)
}

// exactClassifierGuided is ClassifierGuided with an exact base and an exact
// classifier.
type exactClassifierGuided struct {
	ClassifierGuided
	base *Mixture
	mc   *MixtureClasses
}

func (g exactClassifierGuided) ForSDE(s sde.SDE) (sde.Score, error) {
	b, err := g.base.ForSDE(s)
	if err != nil {
		return nil, err
	}
	c, err := g.mc.ForSDE(s)
	if err != nil {
		return nil, err
	}
	return NewClassifierGuided(b, c.(*MixtureClasses), g.Class, g.Scale)
}

// VJPTo writes v^T (d/dx) of s_t(x) + scale (s_t(x | c) - s_t(x)) for each
// row, with the classifier's mixture for p_t(x) in the gradient term.
func (g exactClassifierGuided) VJPTo(dst, v, x, t []float64) {
	g.base.VJPTo(dst, v, x, t)
	if g.Scale == 0 {
		return
	}
	n, d := len(t), g.base.Dim()
	sc := getScratch(2*n*d, n)
	for i := range sc.l {
		sc.l[i] = g.Class
	}
	jc, ju := sc.f[:n*d], sc.f[n*d:]
	g.mc.LabelVJPTo(jc, v, x, t, sc.l)
	g.mc.mix.VJPTo(ju, v, x, t)
	sg := g.Scale
	for i := range jc {
		dst[i] += sg * (jc[i] - ju[i])
	}
	rowsPool.Put(sc)
}
