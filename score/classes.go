package score

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sdekit/sdekit/sde"
)

// Subset returns the mixture restricted to the given components (indices
// into m's, each once) and renormalised: the data density conditioned on
// the draw coming from one of them, under the same SDE. Its score is the
// exact score of p_t(x | k in components).
func (m *Mixture) Subset(components []int) (*Mixture, error) {
	if len(components) == 0 {
		return nil, fmt.Errorf("score: a subset of a mixture needs at least one component")
	}
	seen := make(map[int]bool, len(components))
	w := make([]float64, len(components))
	mu := make([][]float64, len(components))
	sd := make([][]float64, len(components))
	for i, k := range components {
		if k < 0 || k >= m.K() {
			return nil, fmt.Errorf("score: component %d is outside the mixture's 0..%d", k, m.K()-1)
		}
		if seen[k] {
			return nil, fmt.Errorf("score: component %d is named twice in a subset", k)
		}
		seen[k] = true
		w[i], mu[i], sd[i] = m.Weights[k], m.Means[k], m.Stds[k]
	}
	return NewMixture(m.SDE, w, mu, sd)
}

// MixtureClasses is the exact conditional oracle of a mixture whose classes
// are groups of its components: class c is the mixture restricted to its
// group (Subset), with prior probability the sum of the group's weights.
// It is a Labeled score (p_t(x | c) for each class, p_t(x) for NullLabel),
// a ClassGradient (grad_x log p_t(c | x) = s_t(x | c) - s_t(x) by Bayes'
// rule, the prior p(c) being constant in x) and an sde.ExactScore.
// It is immutable and safe for concurrent use.
type MixtureClasses struct {
	mix    *Mixture
	groups [][]int
	class  []*Mixture
}

// NewMixtureClasses groups m's components into classes: groups[c] lists
// the components of class c; every component belongs to exactly one
// class. With groups nil each component is its own class (gmm8: 8 classes).
func NewMixtureClasses(m *Mixture, groups [][]int) (*MixtureClasses, error) {
	if groups == nil {
		groups = make([][]int, m.K())
		for k := range groups {
			groups[k] = []int{k}
		}
	}
	owner := make([]int, m.K())
	for k := range owner {
		owner[k] = -1
	}
	mc := &MixtureClasses{mix: m, groups: make([][]int, len(groups)), class: make([]*Mixture, len(groups))}
	for c, g := range groups {
		for _, k := range g {
			if k >= 0 && k < m.K() && owner[k] >= 0 {
				return nil, fmt.Errorf("score: component %d is in class %d and class %d; each component belongs to one class", k, owner[k], c)
			}
			if k >= 0 && k < m.K() {
				owner[k] = c
			}
		}
		sub, err := m.Subset(g)
		if err != nil {
			return nil, fmt.Errorf("score: class %d: %s", c, strings.TrimPrefix(err.Error(), "score: "))
		}
		mc.groups[c] = append([]int(nil), g...)
		mc.class[c] = sub
	}
	for k, c := range owner {
		if c < 0 {
			return nil, fmt.Errorf("score: component %d is in no class; each component belongs to one class", k)
		}
	}
	return mc, nil
}

// Mixture returns the unconditional mixture.
func (mc *MixtureClasses) Mixture() *Mixture { return mc.mix }

// Class returns class c's mixture (the exact p_t(x | c)).
func (mc *MixtureClasses) Class(c int) *Mixture { return mc.class[c] }

// Group returns the components of class c (a copy).
func (mc *MixtureClasses) Group(c int) []int { return append([]int(nil), mc.groups[c]...) }

// Dim returns the data dimension.
func (mc *MixtureClasses) Dim() int { return mc.mix.Dim() }

// Classes returns the number of classes.
func (mc *MixtureClasses) Classes() int { return len(mc.class) }

// ScoreTo writes the unconditional score grad log p_t(x).
func (mc *MixtureClasses) ScoreTo(dst, x, t []float64) { mc.mix.ScoreTo(dst, x, t) }

// LabelScoreTo writes grad log p_t(x_i | c_i) for each row: each run of
// rows with one label goes to that class's mixture (NullLabel: the whole
// mixture) in one call, so a batch of one label costs one ScoreTo.
func (mc *MixtureClasses) LabelScoreTo(dst, x, t []float64, labels []int) {
	n, d := len(t), mc.mix.Dim()
	if len(labels) != n {
		panic(fmt.Sprintf("score: %d labels for %d rows", len(labels), n))
	}
	mc.mix.check(n, len(x), len(dst))
	for i := 0; i < n; {
		e := i + 1
		for e < n && labels[e] == labels[i] {
			e++
		}
		mc.forLabel(labels[i]).ScoreTo(dst[i*d:e*d], x[i*d:e*d], t[i:e])
		i = e
	}
}

// forLabel returns the mixture of label l (NullLabel: the whole mixture).
func (mc *MixtureClasses) forLabel(l int) *Mixture {
	if l == NullLabel {
		return mc.mix
	}
	if l < 0 || l >= len(mc.class) {
		panic(fmt.Sprintf("score: label %d is outside the classes 0..%d (or NullLabel)", l, len(mc.class)-1))
	}
	return mc.class[l]
}

// rowsPool recycles the scratch rows of LogProbGradTo and of the guidance
// combinators, so a sampler's steps do not allocate.
var rowsPool sync.Pool

// scratch is a pooled buffer of floats and labels.
type scratch struct {
	f []float64
	l []int
}

func getScratch(nf, nl int) *scratch {
	sc, _ := rowsPool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if cap(sc.f) < nf {
		sc.f = make([]float64, nf)
	}
	if cap(sc.l) < nl {
		sc.l = make([]int, nl)
	}
	sc.f, sc.l = sc.f[:nf], sc.l[:nl]
	return sc
}

// LogProbGradTo writes grad_x log p_t(c_i | x_i) = s_t(x_i | c_i) - s_t(x_i)
// for each row (labels in 0..C-1): the exact classifier gradient.
func (mc *MixtureClasses) LogProbGradTo(dst, x, t []float64, labels []int) {
	for _, l := range labels {
		if l == NullLabel {
			panic("score: LogProbGradTo needs a class for every row, not NullLabel")
		}
	}
	mc.LabelScoreTo(dst, x, t, labels)
	sc := getScratch(len(t)*mc.mix.Dim(), 0)
	mc.mix.ScoreTo(sc.f, x, t)
	for i, v := range sc.f {
		dst[i] -= v
	}
	rowsPool.Put(sc)
}

// LabelVJPTo writes v^T (d/dx) grad log p_t(x_i | c_i) for each row (the
// Jacobian of a mixture's score is symmetric): what the likelihood of a
// guided exact score needs.
func (mc *MixtureClasses) LabelVJPTo(dst, v, x, t []float64, labels []int) {
	n, d := len(t), mc.mix.Dim()
	if len(labels) != n {
		panic(fmt.Sprintf("score: %d labels for %d rows", len(labels), n))
	}
	for i := 0; i < n; {
		e := i + 1
		for e < n && labels[e] == labels[i] {
			e++
		}
		mc.forLabel(labels[i]).VJPTo(dst[i*d:e*d], v[i*d:e*d], x[i*d:e*d], t[i:e])
		i = e
	}
}

// ForSDE returns the same classes of the same data density under the
// forward SDE s (sde.ExactScore; DDPM and DDIM take the chain's marginals
// through it).
func (mc *MixtureClasses) ForSDE(s sde.SDE) (sde.Score, error) {
	m, err := mc.mix.ForSDE(s)
	if err != nil {
		return nil, err
	}
	return NewMixtureClasses(m.(*Mixture), mc.groups)
}
