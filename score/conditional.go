package score

import "github.com/sdekit/sdekit/sde"

// NullLabel is the label of the unconditional score in LabelScoreTo and of
// the "no class" embedding of a conditional network (classifier-free
// guidance trains it by label dropout, Ho & Salimans 2022).
const NullLabel = -1

// Labeled is a score that can be conditioned on a class label: the score of
// p_t(x | c) for c in 0..Classes()-1, and of p_t(x) for NullLabel. The exact
// oracle is a mixture whose classes are its components (or subsets of
// them); the trained one is a conditional network. ScoreTo is the
// unconditional score.
type Labeled interface {
	sde.Score
	// Classes returns the number of classes C.
	Classes() int
	// LabelScoreTo writes grad_x log p_t(x_i | c_i) for each row i, with
	// labels[i] in 0..C-1 or NullLabel (len(labels) = len(t)).
	LabelScoreTo(dst, x, t []float64, labels []int)
}

// ClassGradient is a noise-conditional classifier's guidance term:
// grad_x log p_t(c | x) for each row (Dhariwal & Nichol 2021). The exact
// oracle for a mixture is s_t(x | c) - s_t(x); the trained one is a
// classifier network.
type ClassGradient interface {
	// Dim returns the data dimension D.
	Dim() int
	// Classes returns the number of classes C.
	Classes() int
	// LogProbGradTo writes grad_x log p_t(c_i | x_i) for each row i
	// (labels[i] in 0..C-1) into dst (n*D).
	LogProbGradTo(dst, x, t []float64, labels []int)
}
