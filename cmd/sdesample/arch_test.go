package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/model"
)

// unetArgs is a small, fast U-Net training run on the 8x8 digits.
func unetArgs(out string, extra ...string) []string {
	a := []string{"train", "-sde", "vp", "-data", "digits", "-arch", "unet", "-image", "1x8x8", "-channels", "4",
		"-mult", "1,2", "-groups", "2", "-embed-dim", "8", "-dropout", "0.1", "-precision", "float32",
		"-steps", "6", "-batch", "8", "-seed", "3", "-o", out}
	return append(a, extra...)
}

// TestTrainUNetCLI trains a U-Net, checks that the checkpoint records the
// architecture, that a run resumed half-way writes byte for byte the
// checkpoint of the uninterrupted one (dropout included), and samples from
// it.
func TestTrainUNetCLI(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.ckpt")
	mustRun(t, unetArgs(full)...)
	ck, err := model.LoadCheckpoint(full)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := model.ParseUNetConfig(ck.Config)
	if ck.Kind != model.KindUNet || err != nil || cfg.Base != 4 || cfg.Height != 8 || len(cfg.Mult) != 2 || cfg.Dropout != 0.1 {
		t.Fatalf("checkpoint kind %q config %s (%v)", ck.Kind, ck.Config, err)
	}
	half := filepath.Join(dir, "half.ckpt")
	mustRun(t, unetArgs(half, "-steps", "3")...)
	cont := filepath.Join(dir, "cont.ckpt")
	mustRun(t, "train", "-resume", half, "-steps", "6", "-o", cont)
	if !bytes.Equal(readFile(t, full), readFile(t, cont)) {
		t.Fatal("resumed U-Net checkpoint differs from the uninterrupted run")
	}
	out := mustRun(t, "sample", "-sde", "vp", "-score", full, "-n", "3", "-steps", "5", "-o", filepath.Join(dir, "s.npy"))
	if !strings.Contains(out, "dimension 64") {
		t.Errorf("sample output %q", out)
	}
}

// TestTrainUNetBadInput: one line and exit 2 for architectures that do not
// fit the data, and nothing written.
func TestTrainUNetBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.ckpt")
	base := []string{"train", "-data", "digits", "-steps", "1", "-o", out}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-arch", "unet"}, "give it with -image CxHxW"},
		{[]string{"-arch", "unet", "-image", "1x28x28"}, "-image 1x28x28 has 784 values per image, but the rows of -data digits have 64"},
		{[]string{"-arch", "unet", "-image", "8x8"}, "want CxHxW"},
		{[]string{"-arch", "unet", "-image", "1x8x8", "-mult", "1,2,2,2,2"}, "8x8 is not divisible by 16"},
		{[]string{"-arch", "unet", "-image", "1x8x8", "-channels", "12"}, "-groups 8 does not divide 12"},
		{[]string{"-arch", "unet", "-image", "1x8x8", "-mult", "1,x"}, "-mult \"1,x\""},
		{[]string{"-arch", "unet", "-image", "1x8x8", "-attention", "all"}, "-attention \"all\""},
		{[]string{"-arch", "unet", "-image", "1x8x8", "-dropout", "1"}, "-dropout 1"},
		{[]string{"-arch", "unet", "-image", "1x8x8", "-hidden", "64"}, "-hidden sizes the MLP"},
		{[]string{"-channels", "16"}, "-channels sizes the U-Net; add -arch unet"},
		{[]string{"-arch", "unet", "-image", "1x8x8", "-conditional"}, "-conditional: the U-Net has no class input yet"},
		{[]string{"-arch", "unet", "-image", "1x8x8", "-workers", "-1"}, "-workers -1"},
		{[]string{"-arch", "cnn"}, "-arch \"cnn\": use mlp or unet"},
	} {
		code, _, errs := cli(t, context.Background(), append(append([]string(nil), base...), c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", c.args, code, errs, c.want)
		}
	}
	noStrayFiles(t, dir)
}
