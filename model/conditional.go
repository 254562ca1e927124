package model

// Conditional is a network that also takes a class label per row: the MLP
// with Config.Classes = C > 0 computes f(x, t, y) for y in 0..C-1 and the
// unconditional f(x, t) = f(x, t, NullLabel) (the null label's own learned
// embedding, trained by label dropout for classifier-free guidance). Forward
// and InputVJP of a Conditional are its NullLabel outputs. An unconditional
// MLP is a Conditional with Classes() = 0 that accepts only NullLabel (or
// nil labels).
type Conditional interface {
	Net
	// Classes returns C, the number of class labels (0: unconditional).
	Classes() int
	// ForwardLabels is Forward with labels[i] (0..C-1 or NullLabel) for row
	// i; nil labels are all NullLabel.
	ForwardLabels(dst, x, t []float64, labels []int)
	// InputVJPLabels is InputVJP with labels as in ForwardLabels.
	InputVJPLabels(dst, v, x, t []float64, labels []int)
}

// ConditionalTrainable is a Trainable Conditional: ForwardTrainLabels keeps
// the activations (and the labels) for Backward, which then also adds the
// gradient of the label embedding rows used.
type ConditionalTrainable interface {
	Trainable
	Conditional
	// ForwardTrainLabels is ForwardTrain with labels as in ForwardLabels.
	ForwardTrainLabels(dst, x, t []float64, labels []int)
}
