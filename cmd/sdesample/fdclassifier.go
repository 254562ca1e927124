package main

import (
	"fmt"

	"github.com/sdekit/sdekit/model"
)

// classifierFeatures reads a checkpoint for its features. Until the
// classifier networks are in this build every checkpoint is refused by kind.
func classifierFeatures(path string, workers int) (featureNet, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, fmt.Errorf("-features %s: %s", path, checkpointMessage(path, err))
	}
	return nil, fmt.Errorf("-features %s: a checkpoint of kind %q is not a classifier; train one with sdesample train-classifier, or use -features pixels", path, ck.Kind)
}
