package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
)

// TestConvAutoencoderCLI runs latent diffusion with a convolutional
// autoencoder end to end on the digits with tiny budgets: the autoencoder
// (1x8x8 -> 2x2x2), a U-Net on its latent images (-arch unet -mult 1, no
// -image: the latent source gives the shape), a resumed run, sampling with
// -latents and a decoded -plot, and the likelihood; -max-time; and the bad
// inputs, each one line.
func TestConvAutoencoderCLI(t *testing.T) {
	dir := t.TempDir()
	ae := filepath.Join(dir, "ae.ckpt")
	aeArgs := func(o string, extra ...string) []string {
		a := []string{"autoencoder", "-arch", "conv", "-data", "digits-train", "-latent-channels", "2", "-base", "8", "-groups", "4",
			"-steps", "30", "-batch", "16", "-lr", "2e-3", "-o", o}
		return append(a, extra...)
	}
	out := mustRun(t, aeArgs(ae, "-test", "digits-test", "-workers", "2")...)
	for _, want := range []string{"trained a convolutional autoencoder 1x8x8 -> 2x2x2 -> 1x8x8 (base 8, mult 1,2,2, num-res 1, groups 4, float32",
		"reconstruction D(mu(x)) of all 359 rows of digits-test", "latent scale factor", "-arch unet -mult 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("autoencoder: %q lacks %q", out, want)
		}
	}
	ck, err := model.LoadCheckpoint(ae)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := ck.Autoencoder(); err != nil || ck.Kind != model.KindConvAutoencoder || a.Latent() != 8 || a.Config().Precision != model.Float32 {
		t.Fatalf("the checkpoint: kind %s, %v", ck.Kind, err)
	}
	// The workers do not change the result: the same run with 1 worker
	// writes the same file.
	one := filepath.Join(dir, "one.ckpt")
	mustRun(t, aeArgs(one, "-test", "digits-test")...)
	if !sameBytes(t, ae, one) {
		t.Error("-workers 2 and 1 wrote different autoencoders")
	}
	// -max-time stops after the first step boundary past it (here the
	// first step) and writes the run of the steps done, bit for bit.
	stopped, oneStep := filepath.Join(dir, "stopped.ckpt"), filepath.Join(dir, "onestep.ckpt")
	out = mustRun(t, aeArgs(stopped, "-steps", "100000", "-max-time", "1ns")...)
	if !strings.Contains(out, "stopped by -max-time 1ns after 1 of 100000 steps") || !strings.Contains(out, ": 1 steps of 16 rows") {
		t.Errorf("autoencoder -max-time: %q", out)
	}
	mustRun(t, aeArgs(oneStep, "-steps", "1")...)
	if !sameBytes(t, stopped, oneStep) {
		t.Error("the run stopped by -max-time after 1 step differs from the run of -steps 1")
	}

	ldmArgs := func(o string, extra ...string) []string {
		a := []string{"train", "-latent", ae, "-data", "digits-train", "-arch", "unet", "-mult", "1", "-channels", "8", "-groups", "4",
			"-steps", "10", "-batch", "16", "-o", o}
		return append(a, extra...)
	}
	ldm := filepath.Join(dir, "ldm.ckpt")
	if out := mustRun(t, ldmArgs(ldm)...); !strings.Contains(out, "in the 8-dim latent space of the autoencoder") || !strings.Contains(out, "unet channels 8 mult 1") {
		t.Errorf("train -latent -arch unet: %q", out)
	}
	if u, err := model.LoadCheckpoint(ldm); err != nil || u.Kind != model.KindUNet || !strings.Contains(string(u.Config), `"channels":2,"height":2,"width":2`) {
		t.Errorf("the latent U-Net's checkpoint: %v, config %s", err, u.Config)
	}
	half, cont := filepath.Join(dir, "half.ckpt"), filepath.Join(dir, "cont.ckpt")
	mustRun(t, ldmArgs(half, "-steps", "5")...)
	mustRun(t, "train", "-resume", half, "-steps", "10", "-o", cont)
	if !sameBytes(t, ldm, cont) {
		t.Error("a resumed latent U-Net run differs from the uninterrupted one")
	}
	samples, lat, png := filepath.Join(dir, "s.npy"), filepath.Join(dir, "z.csv"), filepath.Join(dir, "g.png")
	out = mustRun(t, "sample", "-score", ldm, "-sampler", "ddim", "-steps", "10", "-n", "70", "-o", samples, "-latents", lat, "-plot", png)
	if !strings.Contains(out, "wrote 70 samples of dimension 64") || !strings.Contains(out, "drew the first 64 decoded samples") {
		t.Errorf("sample: %q", out)
	}
	if tab, err := data.Load(lat); err != nil || tab.N != 70 || tab.D != 8 {
		t.Errorf("latents file: %v", err)
	}
	if b := readFile(t, png); len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Error("the -plot file is not a PNG")
	}
	out = mustRun(t, "likelihood", "-score", ldm, "-data", samples, "-o", filepath.Join(dir, "l.csv"), "-rtol", "1e-3", "-atol", "1e-3")
	if !strings.Contains(out, "encoded to z = s mu(x) in R^8") {
		t.Errorf("likelihood: %q", out)
	}

	// Images in a .npy file have no shape of their own: -image gives it to
	// a conv autoencoder (whose latent images a U-Net then trains on) and
	// to an MLP one (whose samples -plot then draws as images).
	npy := filepath.Join(dir, "digits.npy")
	mustRun(t, "data", "-from", "digits-train", "-n", "200", "-o", npy)
	fromNPY := filepath.Join(dir, "npy.ckpt")
	if out := mustRun(t, append(aeArgs(fromNPY, "-image", "1x8x8", "-test", npy), "-data", npy)...); !strings.Contains(out, "of all 200 rows of "+npy) {
		t.Errorf("a file's reconstruction error is not on its every row: %q", out)
	}
	mlpNPY := filepath.Join(dir, "mlpnpy.ckpt")
	mustRun(t, "autoencoder", "-data", npy, "-image", "1x8x8", "-latent", "4", "-hidden", "16", "-steps", "5", "-o", mlpNPY)
	for _, c := range []struct {
		path   string
		latent []int
	}{{fromNPY, []int{2, 2, 2}}, {mlpNPY, nil}} {
		ck, err := model.LoadCheckpoint(c.path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ck.Autoencoder()
		if err != nil || !slices.Equal(a.Config().Shape, []int{1, 8, 8}) || (c.latent != nil && !slices.Equal(a.LatentShape(), c.latent)) {
			t.Errorf("%s: %v, shape %v, want [1 8 8] (latent %v)", c.path, err, a.Config().Shape, c.latent)
		}
	}
	mustRun(t, "train", "-latent", fromNPY, "-data", npy, "-arch", "unet", "-mult", "1", "-channels", "8", "-groups", "4",
		"-steps", "2", "-batch", "16", "-o", filepath.Join(dir, "ldmnpy.ckpt"))

	x := filepath.Join(dir, "x.ckpt")
	for _, c := range []struct {
		code int
		args []string
		msg  string
	}{
		{2, aeArgs(x, "-data", "gmm8"), "-data gmm8: -arch conv encodes images, but these rows of 2 values have no image shape"},
		{2, aeArgs(x, "-data", npy), "rows of 64 values have no image shape; give it with -image CxHxW"},
		{2, aeArgs(x, "-data", npy, "-image", "1x8x9"), "-image 1x8x9 has 72 values per image, but the rows of -data " + npy + " have 64"},
		{2, aeArgs(x, "-image", "8x8"), `-image "8x8": want CxHxW`},
		{2, aeArgs(x, "-mult", "1,2,2,2,2"), "-data digits-train: images of 8x8, but the 5 resolutions of -mult 1,2,2,2,2 halve them 4 times, which needs sides divisible by 16"},
		{2, aeArgs(x, "-groups", "3"), "-groups 3 does not divide 8"},
		{2, aeArgs(x, "-hidden", "32"), "-hidden sizes the MLP autoencoder"},
		{2, aeArgs(x, "-latent", "4"), "-latent sizes the MLP autoencoder"},
		{2, aeArgs(x, "-precision", "float16"), `-precision "float16": use float32 or float64`},
		{2, aeArgs(x, "-arch", "vae"), `-arch "vae": use mlp or conv`},
		{2, aeArgs(x, "-max-time", "-1s"), "-max-time -1s"},
		{2, []string{"autoencoder", "-data", "digits", "-latent-channels", "3", "-o", x}, "-latent-channels sizes the convolutional autoencoder"},
		{2, []string{"autoencoder", "-data", "digits", "-precision", "float32", "-o", x}, "the MLP autoencoder runs in float64"},
		{2, ldmArgs(x, "-mult", "1,2,2"), "the latents of -latent are 2x2x2 images, which allow at most 2 resolutions of the U-Net"},
		{2, []string{"sample", "-score", ae, "-o", filepath.Join(dir, "x.csv")}, "holds an autoencoder, not a score network"},
		{2, []string{"sample", "-score", ldm, "-n", "4", "-o", filepath.Join(dir, "x.csv"), "-plot", filepath.Join(dir, "g.svg")}, "use a name ending in .png"},
		{2, []string{"classify", "-model", ae, "-data", "digits"}, "holds an autoencoder (kind conv-autoencoder)"},
	} {
		code, _, errs := cli(t, context.Background(), c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("sdesample %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(c.args, " "), code, errs, c.code, c.msg)
		}
	}
	if _, err := data.Load(filepath.Join(dir, "x.csv")); err == nil {
		t.Error("a refused run left an output file")
	}
}
