package main

import (
	"fmt"
	"strings"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// netScore turns a loaded checkpoint into a score under s: the inference
// (EMA) network behind score.Net, which scales the output as the network was
// trained (eps, sigma or score parameterisation). The checkpoint must have
// been trained with the same SDE.
func netScore(ck *model.Checkpoint, path string, s sde.SDE) (sde.Score, error) {
	n, err := score.NetFromCheckpoint(ck, s, path)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "score: ")
		msg = strings.TrimPrefix(msg, path+": ")
		msg = strings.TrimPrefix(msg, path+" ")
		return nil, fmt.Errorf("-score %s: %s", path, msg)
	}
	return n, nil
}
