package main

import (
	"fmt"
	"strings"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// The loaders of a conditional network's checkpoint and of a classifier's,
// for sample's -class, -guidance and -classifier. Each gives one line that
// names the flag and the file: a missing or corrupt file, a classifier where
// a score network is expected and the reverse, an unconditional network, a
// classifier of another data dimension or SDE.

// loadLabeledNet loads a conditional score network's checkpoint as a
// Labeled score under s (flag names the flag that gave path).
func loadLabeledNet(flagName, path string, s sde.SDE) (score.Labeled, [3]int, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, [3]int{}, loadErr(flagName, path, err)
	}
	n, err := score.LabeledNetFromCheckpoint(ck, s, path)
	if err != nil {
		return nil, [3]int{}, condErr(flagName, path, err)
	}
	return n, checkpointShape(ck), nil
}

// loadClassifier loads a noise-conditional classifier's checkpoint for
// data of dimension dim under s.
func loadClassifier(flagName, path string, dim int, s sde.SDE) (score.ClassGradient, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, loadErr(flagName, path, err)
	}
	g, err := score.ClassifierFromCheckpoint(ck, path, dim, s)
	if err != nil {
		return nil, condErr(flagName, path, err)
	}
	return g, nil
}

// loadErr is a usage error "-flag PATH: what is wrong" from a checkpoint
// that could not be read (checkpointMessage says "no such file" for one
// that is not there).
func loadErr(flagName, path string, err error) error {
	return usagef("-%s %s: %s", flagName, path, checkpointMessage(path, err))
}

// condErr is a usage error "-flag PATH: what is wrong" from a score error
// that names the path.
func condErr(flagName, path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "score: ")
	msg = strings.TrimPrefix(msg, "the classifier ")
	msg = strings.TrimPrefix(msg, path+": ")
	msg = strings.TrimPrefix(msg, path+" ")
	return usagef("-%s %s: %s", flagName, path, fmt.Sprint(msg))
}
