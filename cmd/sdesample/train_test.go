package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/score"
)

// trainArgs is a small, fast training run.
func trainArgs(out string, extra ...string) []string {
	a := []string{"train", "-sde", "vp", "-data", "gmm8", "-hidden", "16,16", "-steps", "20", "-batch", "32", "-lr", "1e-2", "-seed", "5", "-o", out}
	return append(a, extra...)
}

// TestTrainResumeCLI: a run stopped half-way (-steps 10) and continued with
// -resume (the other flags taken from the checkpoint) writes byte for byte
// the checkpoint of the uninterrupted run; so does a run interrupted by
// Ctrl-C with -checkpoint-every, resumed from its .partial.ckpt.
func TestTrainResumeCLI(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.ckpt")
	mustRun(t, trainArgs(full)...)

	half := filepath.Join(dir, "half.ckpt")
	mustRun(t, trainArgs(half, "-steps", "10")...)
	cont := filepath.Join(dir, "cont.ckpt")
	out := mustRun(t, "train", "-resume", half, "-steps", "20", "-o", cont)
	if !strings.Contains(out, "trained steps 11..20") {
		t.Errorf("resume output %q", out)
	}
	if !bytes.Equal(readFile(t, full), readFile(t, cont)) {
		t.Fatal("resumed checkpoint differs from the uninterrupted run")
	}

	// Ctrl-C before the first step: the state (step 0) goes to the partial file.
	stopped := filepath.Join(dir, "stopped.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, errs := cli(t, ctx, trainArgs(stopped, "-checkpoint-every", "5")...)
	partial := filepath.Join(dir, "stopped.partial.ckpt")
	if code != 130 || !strings.Contains(errs, "-resume "+partial) {
		t.Fatalf("interrupted: exit %d, stderr %q", code, errs)
	}
	mustRun(t, "train", "-resume", partial, "-checkpoint-every", "5", "-o", stopped)
	if !bytes.Equal(readFile(t, full), readFile(t, stopped)) {
		t.Fatal("run resumed from the partial checkpoint differs from the uninterrupted run")
	}
	noStrayFiles(t, dir, "full.ckpt", "half.ckpt", "cont.ckpt", "stopped.ckpt")

	// The checkpoint is a score: LoadNet reads its SDE and parameterisation.
	n, err := score.LoadNet(full, nil)
	if err != nil || n.Param() != score.ParamEps || n.SDE().Name() != "vp" {
		t.Fatalf("LoadNet: %v", err)
	}
}

// TestTrainMaxTimeCLI: -max-time 1ns stops after the first step and writes
// a finished checkpoint of that one step; -resume takes it on to -steps and
// writes byte for byte the checkpoint of the uninterrupted run (the time
// budget only decides where the run pauses, not what it computes).
func TestTrainMaxTimeCLI(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.ckpt")
	mustRun(t, trainArgs(full)...)
	early := filepath.Join(dir, "early.ckpt")
	out := mustRun(t, trainArgs(early, "-max-time", "1ns")...)
	if !strings.Contains(out, "trained steps 1..1 ") || !strings.Contains(out, "stopped by -max-time 1ns at step 1 of 20") {
		t.Fatalf("-max-time output %q", out)
	}
	ck, err := model.LoadCheckpoint(early)
	if err != nil || ck.Step != 1 {
		t.Fatalf("-max-time checkpoint: step %v, %v; want step 1", ck, err)
	}
	cont := filepath.Join(dir, "cont.ckpt")
	mustRun(t, "train", "-resume", early, "-o", cont)
	if !bytes.Equal(readFile(t, full), readFile(t, cont)) {
		t.Fatal("a run stopped by -max-time and resumed differs from the uninterrupted run")
	}
	// A budget the run does not reach changes nothing.
	long := filepath.Join(dir, "long.ckpt")
	if out := mustRun(t, trainArgs(long, "-max-time", "1h")...); strings.Contains(out, "stopped by") {
		t.Errorf("-max-time 1h stopped a 20-step run: %q", out)
	}
	if !bytes.Equal(readFile(t, full), readFile(t, long)) {
		t.Fatal("-max-time 1h changed the checkpoint")
	}
	if code, _, errs := cli(t, context.Background(), trainArgs(filepath.Join(dir, "x.ckpt"), "-max-time", "-1s")...); code != 2 || !strings.Contains(errs, "-max-time") {
		t.Errorf("-max-time -1s: exit %d, %q; want 2 naming -max-time", code, errs)
	}
}

// TestTrainLosses runs every loss and the digits with dequantisation briefly.
func TestTrainLosses(t *testing.T) {
	dir := t.TempDir()
	for _, c := range [][]string{
		{"-sde", "ve", "-loss", "smld", "-levels", "10"},
		{"-sde", "ve", "-param", "score", "-weighting", "likelihood"},
		{"-sde", "vp", "-loss", "ddpm", "-embedding", "sinusoidal", "-precision", "float32"},
		{"-sde", "subvp", "-data", "digits", "-dequant", "uniform"},
	} {
		path := filepath.Join(dir, "m.ckpt")
		args := append(trainArgs(path, "-steps", "3"), c...)
		mustRun(t, args...)
		ck, err := model.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := score.ReadMeta(ck)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: %+v", c, meta)
		if c[len(c)-1] == "uniform" && meta.Data != "digits,dequant=uniform" {
			t.Errorf("digits with dequantisation recorded as %q", meta.Data)
		}
	}
}

// TestTrainBadInputs: each mistake is one line on stderr and exit 2 (usage)
// or 1 (run-time).
func TestTrainBadInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ckpt")
	mustRun(t, trainArgs(good, "-steps", "2")...)
	bogus := filepath.Join(dir, "bogus.ckpt")
	if err := os.WriteFile(bogus, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.ckpt")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{trainArgs(out, "-sde", "vx"), 2, `-sde "vx": unknown SDE; use one of edm, subvp, ve, vp`},
		{trainArgs(filepath.Join(dir, "m.csv")), 2, "ending in .ckpt"},
		{trainArgs(filepath.Join(dir, "no", "m.ckpt")), 1, "-o"},
		{trainArgs(out, "-data", "spiral"), 1, "unknown source"},
		{trainArgs(out, "-data", filepath.Join(dir, "none.csv")), 1, "none.csv"},
		{trainArgs(out, "-hidden", "64,x"), 2, "-hidden"},
		{trainArgs(out, "-steps", "0"), 2, "-steps 0"},
		{trainArgs(out, "-lr", "-1"), 2, "-lr"},
		{trainArgs(out, "-ema", "1"), 2, "-ema"},
		{trainArgs(out, "-param", "noise"), 2, "-param"},
		{trainArgs(out, "-loss", "ddpm", "-sde", "ve"), 2, "use -sde vp"},
		{trainArgs(out, "-loss", "smld"), 2, "use -sde ve"},
		{trainArgs(out, "-loss", "ddpm", "-weighting", "likelihood"), 2, "only the dsm loss has a weighting"},
		{trainArgs(out, "-loss", "sm"), 2, "-loss"},
		{trainArgs(out, "-weighting", "flat"), 2, "unknown weighting"},
		{trainArgs(out, "-dequant", "uniform"), 2, "only the digits"},
		{trainArgs(out, "-precision", "float16"), 2, "-precision"},
		{trainArgs(out, "-embedding", "learned"), 2, "-embedding"},
		{trainArgs(out, "-resume", filepath.Join(dir, "none.ckpt")), 1, "no such file"},
		{trainArgs(out, "-resume", bogus), 1, "not an sdekit model checkpoint"},
		{trainArgs(out, "-resume", good, "-lr", "1e-3"), 2, "the learning rate is 0.01 in the checkpoint but 0.001 now"},
		{trainArgs(out, "-resume", good, "-steps", "1"), 2, "beyond -steps 1"},
		{trainArgs(out, "-sde", "ve", "-param", "score", "-lr", "1e200"), 1, "training step 2: loss is NaN"},
		{trainArgs(out, "-embed-dim", "3"), 2, "-embed-dim 3: want an even number >= 2"},
		{trainArgs(out, "-record", filepath.Join(dir, "r.txt")), 2, ".json"},
		{append(trainArgs(out), "extra"), 2, "unexpected argument"},
	}
	for _, c := range cases {
		code, _, errs := cli(t, context.Background(), c.args...)
		lines := strings.Count(strings.TrimSpace(errs), "\n") + 1
		if code != c.code || !strings.Contains(errs, c.want) || lines != 1 {
			t.Errorf("sdesample %s:\nexit %d (want %d), stderr %q (want one line containing %q)", strings.Join(c.args[1:], " "), code, c.code, errs, c.want)
		}
	}
	noStrayFiles(t, dir, "good.ckpt", "bogus.ckpt")
}

// TestTrainProgressBar: a bar on a terminal, nothing when piped (mustRun
// fails on any stderr output).
func TestTrainProgressBar(t *testing.T) {
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	defer func() { isTerminal = old }()
	code, _, errs := cli(t, context.Background(), trainArgs(filepath.Join(t.TempDir(), "m.ckpt"))...)
	if code != 0 || !strings.Contains(errs, "20/20") {
		t.Fatalf("exit %d, no progress bar on the terminal: %q", code, errs)
	}
}
