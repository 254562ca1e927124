package score

import (
	"errors"
	"fmt"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/sde"
)

// LabeledNet is the score of a conditional network (model.Conditional with
// Classes() > 0, such as an MLP with Config.Classes set): LabelScoreTo scales
// the output of the label's row of the network as Net scales its output, and
// ScoreTo is the NullLabel (unconditional) score. It implements Labeled and
// is safe for concurrent use, as Net is.
type LabeledNet struct {
	*Net
	classes int
}

// NewLabeledNet returns the labeled score of a conditional network under s
// with parameterisation p (cloned, as NewNet does).
func NewLabeledNet(s sde.SDE, net model.Conditional, p Param) (*LabeledNet, error) {
	if net == nil {
		return nil, errors.New("score: NewLabeledNet needs a network")
	}
	if net.Classes() < 1 {
		return nil, errors.New("score: the network is not conditional (0 classes); train it with labels (model.Config.Classes, sdesample train -conditional)")
	}
	n, err := NewNet(s, net, p)
	if err != nil {
		return nil, err
	}
	return &LabeledNet{Net: n, classes: net.Classes()}, nil
}

// Classes returns the number of classes C.
func (n *LabeledNet) Classes() int { return n.classes }

// LabelScoreTo writes the score of p_t(x_i | labels[i]) for each row, the
// unconditional one for NullLabel.
func (n *LabeledNet) LabelScoreTo(dst, x, t []float64, labels []int) {
	n.check("LabelScoreTo", t, dst, x)
	if len(labels) != len(t) {
		panic(fmt.Sprintf("score: LabeledNet.LabelScoreTo: %d labels for %d rows", len(labels), len(t)))
	}
	m := n.get()
	m.(model.Conditional).ForwardLabels(dst, x, t, labels)
	n.put(m)
	n.scaleRows(dst, t)
}

// LabeledNetFromCheckpoint is NetFromCheckpoint for a conditional network:
// an unconditional checkpoint is an error that says so.
func LabeledNetFromCheckpoint(ck *model.Checkpoint, s sde.SDE, name string) (*LabeledNet, error) {
	n, err := NetFromCheckpoint(ck, s, name)
	if err != nil {
		return nil, err
	}
	c, ok := n.proto.(model.Conditional)
	if !ok || c.Classes() < 1 {
		return nil, fmt.Errorf("score: %s holds an unconditional network; train one with labels (sdesample train -conditional) for -class and classifier-free guidance", name)
	}
	return &LabeledNet{Net: n, classes: c.Classes()}, nil
}

// LoadLabeledNet is LoadNet for a conditional network.
func LoadLabeledNet(path string, s sde.SDE) (*LabeledNet, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	return LabeledNetFromCheckpoint(ck, s, path)
}

var _ Labeled = (*LabeledNet)(nil)
