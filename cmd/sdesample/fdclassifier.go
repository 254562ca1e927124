package main

import (
	"fmt"
	"strings"

	"github.com/sdekit/sdekit/model"
)

// classifierFeatures reads a classifier checkpoint (sdesample
// train-classifier) for the activations of its last hidden layer; a score
// network's checkpoint is refused by kind.
func classifierFeatures(path string, workers int) (featureNet, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("-features %s: %s", path, checkpointMessage(path, err))
	}
	c, err := ck.Classifier()
	if err != nil {
		return nil, usagef("-features %s: %s", path, strings.TrimPrefix(err.Error(), "model: checkpoint: "))
	}
	c.SetWorkers(workers)
	return c, nil
}
