package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Conditional sampling on gmm8 from the command line: -class alone, with
// -guidance and with the exact classifier. The run prints the fraction of
// samples nearest the class's component (at least 99 % on 200 rows: a
// sample of N(mu_k, 0.25 I) lands nearer another of the 8 means, 3.06
// apart, with probability about 2 Phi(-3.06) = 0.2 %, and guidance only
// lowers that), and a record of the run replays bit for bit.
func TestGuidedSampleCLI(t *testing.T) {
	dir := t.TempDir()
	pct := regexp.MustCompile(`class 5: ([0-9.]+) % of 200 samples nearest`)
	for _, extra := range [][]string{
		{"-class", "5"},
		{"-class", "5", "-guidance", "2"},
		{"-class", "5", "-classifier", "exact", "-classifier-scale", "3"},
	} {
		for _, smp := range []string{"ode", "em", "ddim"} {
			out := filepath.Join(dir, "s.csv")
			rec := filepath.Join(dir, "run.json")
			args := append([]string{"sample", "-score", "gmm8", "-sampler", smp, "-n", "200", "-seed", "3", "-o", out, "-record", rec}, extra...)
			if smp == "em" {
				args = append(args, "-steps", "200")
			}
			got := mustRun(t, args...)
			m := pct.FindStringSubmatch(got)
			if m == nil {
				t.Fatalf("%v: no class line in %q", args, got)
			}
			if f, _ := strconv.ParseFloat(m[1], 64); f < 99 {
				t.Errorf("%v: %s %% nearest the class", args, m[1])
			}
			var r Record
			if err := json.Unmarshal(readFile(t, rec), &r); err != nil {
				t.Fatal(err)
			}
			if r.Flags["class"] != "5" {
				t.Errorf("%v: the record's -class is %q", args, r.Flags["class"])
			}
			if rep := mustRun(t, "replay", rec); !strings.Contains(rep, "bit for bit") {
				t.Errorf("%v: replay says %q", args, rep)
			}
		}
	}
}

// A record written before the guidance flags existed (no class, guidance,
// classifier or classifier-scale) replays as the unconditional run it was.
func TestOldRecordReplaysUnguided(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s.csv")
	rec := filepath.Join(dir, "run.json")
	mustRun(t, sampleArgs("em", out, "-record", rec)...)
	var raw map[string]any
	if err := json.Unmarshal(readFile(t, rec), &raw); err != nil {
		t.Fatal(err)
	}
	flags := raw["flags"].(map[string]any)
	for _, f := range []string{"class", "guidance", "classifier", "classifier-scale"} {
		if _, ok := flags[f]; !ok {
			t.Fatalf("the record has no -%s", f)
		}
		delete(flags, f)
	}
	b, _ := json.Marshal(raw)
	if err := os.WriteFile(rec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	alt := filepath.Join(dir, "again.csv")
	mustRun(t, "replay", "-o", alt, rec)
	if !bytes.Equal(readFile(t, out), readFile(t, alt)) {
		t.Fatal("an old record replays differently")
	}
}

// Trajectories take the guided score too.
func TestGuidedTrajectory(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "trajectory", "-score", "gmm8", "-sampler", "ode", "-n", "3", "-points", "5", "-class", "1", "-guidance", "1", "-o", filepath.Join(dir, "p.csv"))
}

// Bad guidance input: one line, exit 2, nothing written.
func TestGuidanceBadInputs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	smp := func(extra ...string) []string {
		return append([]string{"sample", "-score", "gmm8", "-n", "4", "-steps", "5", "-o", "s.csv"}, extra...)
	}
	for _, tc := range []struct {
		args []string
		line string
	}{
		{smp("-class", "8"), "sdesample sample: -class 8: -score gmm8 (a mixture: its classes are its components) has classes 0 to 7"},
		{smp("-class", "-2"), "sdesample sample: -class -2: a class is a label 0..C-1 (or -1 for unconditional sampling)"},
		{smp("-score", "gauss:3", "-class", "1"), "sdesample sample: -class 1: -score gauss:3 (a mixture: its classes are its components) has classes 0 to 0"},
		{smp("-guidance", "2"), "sdesample sample: -guidance 2 steers toward a class: give -class k too (and a conditional model: gmm8, gauss:D, mixture:FILE.json or a conditional checkpoint)"},
		{smp("-guidance", "NaN", "-class", "1"), "sdesample sample: -guidance NaN: the weight must be a finite number (typical 0 to 5)"},
		{smp("-classifier", "exact"), "sdesample sample: -classifier exact guides toward a class: give -class k too"},
		{smp("-class", "1", "-classifier-scale", "3"), "sdesample sample: -classifier-scale 3 is the strength of -classifier: give -classifier FILE (or exact) too, or use -guidance for classifier-free guidance"},
		{smp("-class", "1", "-guidance", "1", "-classifier", "exact"), "sdesample sample: -guidance 1 with -classifier exact: -guidance is classifier-free guidance's weight; give the classifier's strength with -classifier-scale instead"},
	} {
		code, _, errs := cli(t, context.Background(), tc.args...)
		if code != 2 || strings.TrimSpace(errs) != tc.line {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", tc.args, code, errs, tc.line)
		}
		noStrayFiles(t, dir)
	}
}

// TestConditionalImagesPlot: a conditional network on images keeps its
// image shape under -class, so -plot draws the image grid (as without
// -class) and refuses a non-PNG name before sampling.
func TestConditionalImagesPlot(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "c.ckpt")
	mustRun(t, "train", "-conditional", "-data", "digits", "-hidden", "16", "-steps", "3", "-batch", "16", "-o", c)
	png := filepath.Join(dir, "g.png")
	out := mustRun(t, "sample", "-score", c, "-class", "3", "-guidance", "1", "-sampler", "ddim", "-steps", "5", "-n", "4", "-o", filepath.Join(dir, "s.csv"), "-plot", png)
	if !strings.Contains(out, "drew "+png+" (the first 4 samples)") {
		t.Errorf("sample -class -plot on a digits network: %q; want the image grid", out)
	}
	if code, _, errs := cli(t, context.Background(), "sample", "-score", c, "-class", "3", "-n", "4", "-o", filepath.Join(dir, "t.csv"), "-plot", filepath.Join(dir, "g.svg")); code != 2 || !strings.Contains(errs, "PNG") {
		t.Errorf("-plot g.svg with -class on an image model: exit %d, %q; want 2 and a PNG message", code, errs)
	}
}
