package main

import (
	"errors"

	"github.com/sdekit/sdekit/sde"
	"github.com/sdekit/sdekit/score"
)

// The loaders of a conditional network's checkpoint and of a classifier's,
// for sample's -class, -guidance and -classifier. The network side of issue
// 19 replaces these bodies; until then a checkpoint cannot be guided.

// loadLabeledNet loads a conditional score network's checkpoint as a
// Labeled score under s (flag names the flag that gave path).
func loadLabeledNet(flagName, path string, s sde.SDE) (score.Labeled, error) {
	return nil, errors.New("-" + flagName + " " + path + ": conditional networks are not built yet")
}

// loadClassifier loads a noise-conditional classifier's checkpoint for
// data of dimension dim under s.
func loadClassifier(flagName, path string, dim int, s sde.SDE) (score.ClassGradient, error) {
	return nil, errors.New("-" + flagName + " " + path + ": classifier networks are not built yet")
}
