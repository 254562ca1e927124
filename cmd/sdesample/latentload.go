package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
)

// loadAutoencoder reads the -latent checkpoint of train: it must hold an
// autoencoder with a scale factor.
func loadAutoencoder(flagName, path string) (*model.Autoencoder, string, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, "", fmt.Errorf("-%s %s: %s", flagName, path, checkpointMessage(path, err))
	}
	ae, err := ck.Autoencoder()
	if err != nil {
		return nil, "", usagef("-%s %s: %s", flagName, path, strings.TrimPrefix(err.Error(), "model: checkpoint: "))
	}
	if !(ae.ScaleFactor() > 0) {
		return nil, "", fmt.Errorf("-%s %s: the autoencoder has no latent scale factor; train it with sdesample autoencoder", flagName, path)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, "", fmt.Errorf("-%s %s: %s", flagName, path, fsMessage(err))
	}
	return ae, sum, nil
}

// latentOf returns the autoencoder a latent score checkpoint (at path)
// records, or nil for a pixel-space one. It looks for the recorded path as
// given and beside the score checkpoint, and refuses a file whose SHA-256
// is not the recorded one.
func latentOf(ck *model.Checkpoint, path string) (*model.Autoencoder, string, error) {
	meta, err := score.ReadMeta(ck)
	if err != nil || meta.Autoencoder == nil {
		return nil, "", nil // netScore reports a missing meta
	}
	ref := meta.Autoencoder
	cands := []string{ref.Path}
	if !filepath.IsAbs(ref.Path) {
		cands = append(cands, filepath.Join(filepath.Dir(path), filepath.Base(ref.Path)))
	}
	var tried []string
	for _, c := range cands {
		sum, err := fileSHA256(c)
		if errors.Is(err, fs.ErrNotExist) {
			tried = append(tried, c)
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("-score %s: its autoencoder %s: %s", path, c, fsMessage(err))
		}
		if sum != ref.SHA256 {
			return nil, "", fmt.Errorf("-score %s: it was trained on the latents of the autoencoder %s with SHA-256 %.12s..., but %s has %.12s...; restore that autoencoder (a retrained one encodes differently)", path, ref.Path, ref.SHA256, c, sum)
		}
		ae, _, err := loadAutoencoder("score "+path+": its autoencoder", c)
		if err != nil {
			return nil, "", err
		}
		return ae, c, nil
	}
	return nil, "", fmt.Errorf("-score %s: it is a latent model and needs its autoencoder %s (SHA-256 %.12s...), which is not at %s; put it back there", path, ref.Path, ref.SHA256, strings.Join(tried, " or "))
}

// latentMult checks -mult against the latent images of a convolutional
// autoencoder (c x h x w, small and often odd: 4x7x7 on Fashion-MNIST),
// whose U-Net can have only as many resolutions as h and w can be halved.
func latentMult(mult []int, spec string, c, h, w int) error {
	if f := 1 << (len(mult) - 1); h%f == 0 && w%f == 0 {
		return nil
	}
	res := 1
	for h%(1<<res) == 0 && w%(1<<res) == 0 {
		res++
	}
	if res == 1 {
		return usagef("-mult %s: the latents of -latent are %dx%dx%d images, whose odd side cannot be halved, so the U-Net has one resolution only; give one multiplier, for example -mult 1 or -mult 2", spec, c, h, w)
	}
	eg := "1"
	for i := 1; i < res; i++ {
		eg += ",2"
	}
	return usagef("-mult %s: the latents of -latent are %dx%dx%d images, which allow at most %d resolutions of the U-Net (each but the last halves them); give at most %d multipliers, for example -mult %s", spec, c, h, w, res, res, eg)
}
