package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassifierCLI trains a small clean classifier on gmm8, classifies
// labeled draws and a labeled file with it, and checks every bad input of
// train -conditional, train-classifier and classify is one line with exit 2.
func TestClassifierCLI(t *testing.T) {
	dir := t.TempDir()
	cls := filepath.Join(dir, "c.ckpt")
	out := mustRun(t, "train-classifier", "-data", "gmm8", "-clean", "-hidden", "32,32", "-fourier-scale", "1",
		"-steps", "300", "-batch", "128", "-lr", "1e-2", "-ema", "0.9", "-o", cls)
	if !strings.Contains(out, "clean (t = 0) classifier of 8 classes") {
		t.Errorf("output %q", out)
	}
	out = mustRun(t, "classify", "-model", cls, "-data", "gmm8", "-n", "2000")
	if !strings.Contains(out, "gmm8 (2000 draws, seed 1): 2000 rows, accuracy 0.99") || !strings.Contains(out, "class 7:") {
		t.Errorf("classify gmm8: %q", out)
	}
	labeled := filepath.Join(dir, "l.csv")
	os.WriteFile(labeled, []byte("x,y,label\n4,0,0\n0,4,2\n-4,0,4\n"), 0o644)
	out = mustRun(t, "classify", "-model", cls, "-data", labeled)
	if !strings.Contains(out, "3 rows, accuracy 1.0000") {
		t.Errorf("classify labeled file: %q", out)
	}
	samples := filepath.Join(dir, "s.csv")
	os.WriteFile(samples, []byte("x,y\n4,0\n2.8,2.8\n"), 0o644)
	out = mustRun(t, "classify", "-model", cls, "-data", samples, "-labels", "1")
	if !strings.Contains(out, "class 1: 2 rows, accuracy 0.5000") {
		t.Errorf("classify -labels: %q", out)
	}

	// A conditional network and its labeled score.
	cond := filepath.Join(dir, "cond.ckpt")
	out = mustRun(t, trainArgs(cond, "-conditional", "-label-dropout", "0.2")...)
	if !strings.Contains(out, "conditional on 8 classes, label dropout 0.2") {
		t.Errorf("train -conditional: %q", out)
	}
	if ln, _, err := loadLabeledNet("score", cond, nil); err != nil || ln.Classes() != 8 {
		t.Errorf("loadLabeledNet: %v", err)
	}
	if g, err := loadClassifier("classifier", cls, 2, nil); err != nil || g.Classes() != 8 {
		t.Errorf("loadClassifier: %v", err)
	}
	uncond := filepath.Join(dir, "u.ckpt")
	mustRun(t, trainArgs(uncond)...)
	// A resumed conditional run keeps its labels and dropout.
	half := filepath.Join(dir, "half.ckpt")
	mustRun(t, trainArgs(half, "-conditional", "-label-dropout", "0.2", "-steps", "10")...)
	cont := filepath.Join(dir, "cont.ckpt")
	mustRun(t, "train", "-resume", half, "-steps", "20", "-o", cont)
	if !sameBytes(t, cond, cont) {
		t.Error("a resumed conditional run differs from the uninterrupted one")
	}

	noLabels := filepath.Join(dir, "nolab.csv")
	os.WriteFile(noLabels, []byte("x,y\n1,2\n"), 0o644)
	badLabel := filepath.Join(dir, "bad.csv")
	os.WriteFile(badLabel, []byte("x,y,label\n1,2,0\n1,2,0.5\n"), 0o644)
	bigLabel := filepath.Join(dir, "big.csv")
	os.WriteFile(bigLabel, []byte("x,y,label\n1,2,9\n"), 0o644)
	three := filepath.Join(dir, "three.csv")
	os.WriteFile(three, []byte("a,b,c,label\n1,2,3,0\n"), 0o644)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{trainArgs(filepath.Join(dir, "m.ckpt"), "-data", "moons", "-conditional"), "-conditional: moons has no class labels"},
		{trainArgs(filepath.Join(dir, "m.ckpt"), "-label-dropout", "0.3"), "only a -conditional network has labels to drop"},
		{trainArgs(filepath.Join(dir, "m.ckpt"), "-conditional", "-label-dropout", "1"), "-label-dropout 1: use a probability in [0, 1)"},
		{trainArgs(filepath.Join(dir, "m.ckpt"), "-data", badLabel, "-conditional"), "line 3 column 3: label 0.5 is not a class"},
		{[]string{"train-classifier", "-data", "moons", "-o", filepath.Join(dir, "m.ckpt")}, "moons has no class labels"},
		{[]string{"train-classifier", "-data", "gmm8", "-hidden", "", "-o", filepath.Join(dir, "m.ckpt")}, "at least one hidden layer"},
		{[]string{"train-classifier", "-data", "gmm8", "-o", filepath.Join(dir, "m.txt")}, "ending in .ckpt"},
		{[]string{"classify", "-model", cls, "-data", noLabels}, "has no labels; give -labels k"},
		{[]string{"classify", "-model", cls, "-data", badLabel}, "label 0.5 is not a class"},
		{[]string{"classify", "-model", cls, "-data", bigLabel}, "row 0 has label 9, but the classifier knows classes 0..7"},
		{[]string{"classify", "-model", cls, "-data", noLabels, "-labels", "8"}, "-labels 8: the classifier knows classes 0..7"},
		{[]string{"classify", "-model", cls, "-data", labeled, "-labels", "1"}, "has its own labels"},
		{[]string{"classify", "-model", cls, "-data", three}, "was trained on data of dimension 2 (gmm8), this data has 3"},
		{[]string{"classify", "-model", cls, "-data", "gmm8", "-t", "0.5"}, "is a clean classifier"},
		{[]string{"classify", "-model", uncond, "-data", "gmm8"}, "holds a score network (kind mlp), not a classifier"},
		{[]string{"classify", "-model", filepath.Join(dir, "none.ckpt"), "-data", "gmm8"}, "no such file"},
		{[]string{"classify", "-data", "gmm8"}, "-model is required"},
		{[]string{"sample", "-score", cls, "-n", "5", "-o", filepath.Join(dir, "s.csv")}, "-score " + cls + ": holds a classifier, not a score network"},
		{[]string{"classify", "-model", cls, "-data", "gmm8", "-lables", "1"}, "unknown flag -lables"},
	} {
		code, _, errs := cli(t, context.Background(), c.args...)
		if code != 2 || !strings.Contains(errs, c.msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("sdesample %s: exit %d, stderr %q; want exit 2 and one line with %q", strings.Join(c.args, " "), code, errs, c.msg)
		}
	}
	// The sample command's loaders: each wrong file is one line.
	for _, c := range []struct {
		err error
		msg string
	}{
		{errOf2(loadLabeledNet("score", cls, nil)), "-score " + cls + ": holds a classifier"},
		{errOf2(loadLabeledNet("score", uncond, nil)), "holds an unconditional network"},
		{errOf(loadClassifier("classifier", cond, 2, nil)), "holds a score network"},
		{errOf(loadClassifier("classifier", cls, 64, nil)), "dimension 2"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.msg) {
			t.Errorf("got %v, want %q", c.err, c.msg)
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

func errOf2[T, U any](_ T, _ U, err error) error { return err }

func sameBytes(t *testing.T, a, b string) bool {
	return string(readFile(t, a)) == string(readFile(t, b))
}
