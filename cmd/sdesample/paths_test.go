package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replay compares the new output with the recorded digest, and says what
// the recorded file on disk holds now: after another run replaced it, the
// line must not claim to reproduce that file.
func TestReplaySaysWhatIsOnDisk(t *testing.T) {
	t.Chdir(t.TempDir())
	mustRun(t, "sample", "-score", "gmm8", "-n", "20", "-steps", "10", "-o", "s.csv", "-record", "run.json")
	if out := mustRun(t, "replay", "run.json"); !strings.Contains(out, "s.replay.csv reproduces s.csv bit for bit") {
		t.Errorf("replay of an untouched run: %q", out)
	}
	if err := os.WriteFile("s.csv", []byte("x0,x1\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "replay", "run.json")
	if !strings.Contains(out, "reproduces the recorded output bit for bit") || !strings.Contains(out, "s.csv on disk has changed since the run") {
		t.Errorf("replay after s.csv was replaced: %q", out)
	}
	os.Remove("s.csv")
	if out := mustRun(t, "replay", "run.json"); !strings.Contains(out, "s.csv is no longer on disk") {
		t.Errorf("replay after s.csv was removed: %q", out)
	}
	code, _, errs := cli(t, t.Context(), "replay", "-o", "run.json", "run.json")
	if code != 2 || !strings.Contains(errs, "-o run.json is the run record itself") {
		t.Errorf("replay -o onto the record: exit %d, %q", code, errs)
	}
}

// One point has no standard error: the summary says so instead of NaN.
func TestLikelihoodOnePoint(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("one.csv", []byte("x0,x1\n0.5,0.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "likelihood", "-score", "gmm8", "-data", "one.csv", "-o", "r.csv", "-rtol", "1e-3", "-atol", "1e-3")
	if strings.Contains(out, "NaN") || !strings.Contains(out, "+- n/a (one point) nats") {
		t.Errorf("summary of one point: %q", out)
	}
}

// merge checks the row column where the shards have one: likelihood
// shards given in the wrong order are refused (they came out 1, 0, 2, ...);
// in order they merge into the unsharded file, and a count that does not
// add up names shards, not rows.
func TestMergeOrder(t *testing.T) {
	t.Chdir(t.TempDir())
	mustRun(t, "data", "-from", "gmm8", "-n", "8", "-seed", "2", "-o", "pts.csv")
	lik := func(extra ...string) {
		mustRun(t, append([]string{"likelihood", "-score", "gmm8", "-data", "pts.csv", "-rtol", "1e-3", "-atol", "1e-3"}, extra...)...)
	}
	lik("-o", "all.csv")
	lik("-shard", "0/2", "-o", "s0.csv")
	lik("-shard", "1/2", "-o", "s1.csv")
	code, _, errs := cli(t, t.Context(), "merge", "-o", "m.csv", "s1.csv", "s0.csv")
	if code != 1 || !strings.Contains(errs, "the shards are out of order") {
		t.Errorf("merge in the wrong order: exit %d, %q", code, errs)
	}
	mustRun(t, "merge", "-o", "m.csv", "s0.csv", "s1.csv")
	if string(readFile(t, "m.csv")) != string(readFile(t, "all.csv")) {
		t.Error("merged shards differ from the unsharded run")
	}
	code, _, errs = cli(t, t.Context(), "merge", "-rows", "9", "-o", "m2.csv", "s0.csv", "s1.csv")
	if code != 1 || !strings.Contains(errs, "a shard may be missing: give every shard once, in shard order 0, 1, ..., n-1") {
		t.Errorf("merge with -rows 9: exit %d, %q", code, errs)
	}
}

// Asked-for help goes to stdout (exit 0), `help CMD` prints CMD's flags,
// and version names the kernels in use.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"sample", "-h"}, {"help", "sample"}} {
		code, out, errs := cli(t, t.Context(), args...)
		if code != 0 || errs != "" || out == "" {
			t.Errorf("%v: exit %d, stdout %d bytes, stderr %q", args, code, len(out), errs)
		}
	}
	if _, out, _ := cli(t, t.Context(), "help", "sample"); !strings.Contains(out, "-sampler") {
		t.Errorf("help sample does not show sample's flags: %q", out)
	}
	if code, _, errs := cli(t, t.Context()); code != 2 || !strings.Contains(errs, "usage: sdesample") {
		t.Errorf("no arguments: exit %d, stderr %q", code, errs)
	}
	code, out, _ := cli(t, t.Context(), "version")
	if code != 0 || !strings.Contains(out, "kernels   normals ") || !strings.Contains(out, "go        go1.") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// trajectory stops on Ctrl-C at any point, before, during or after its
// blocks: exit 130, one line, no output or temporary file (it went on and
// exited 0 while writing its CSV).
func TestTrajectoryInterrupt(t *testing.T) {
	dir := t.TempDir()
	args := []string{"trajectory", "-score", "gmm8", "-sampler", "em", "-steps", "20", "-n", "40", "-block", "8",
		"-workers", "1", "-o", filepath.Join(dir, "p.csv")}
	// How often the whole run looks at its context: cancelling at each of
	// those points must stop it.
	all := &laterCancel{Context: t.Context(), k: 1 << 30, done: make(chan struct{})}
	if code, _, errs := cli(t, all, args...); code != 0 {
		t.Fatalf("uncancelled run: exit %d, %q", code, errs)
	}
	os.Remove(filepath.Join(dir, "p.csv"))
	if all.calls < 10 {
		t.Fatalf("the run looked at its context %d times", all.calls)
	}
	// (The count of checks varies a little from run to run, so the last
	// few are not targeted exactly.)
	for _, k := range []int{1, 2, all.calls / 2, 3 * all.calls / 4} {
		ctx := &laterCancel{Context: t.Context(), k: k, done: make(chan struct{})}
		code, _, errs := cli(t, ctx, args...)
		if code != 130 || errs != "sdesample trajectory: interrupted; no output written\n" {
			t.Errorf("cancel at check %d of %d: exit %d, stderr %q", k, all.calls, code, errs)
		}
		noStrayFiles(t, dir)
	}
	// Blocks of paths give the same file as one block (rows are independent).
	t.Chdir(dir)
	mustRun(t, "trajectory", "-score", "gmm8", "-sampler", "em", "-steps", "20", "-n", "40", "-block", "7", "-o", "a.csv")
	mustRun(t, "trajectory", "-score", "gmm8", "-sampler", "em", "-steps", "20", "-n", "40", "-block", "100", "-o", "b.csv")
	if string(readFile(t, "a.csv")) != string(readFile(t, "b.csv")) {
		t.Error("trajectory depends on -block")
	}
}

// sd15 stops on Ctrl-C in its evaluation phase too (it printed everything
// and exited 0): exit 130 and nothing on stdout, wherever it is cancelled.
func TestSD15Interrupt(t *testing.T) {
	args := []string{"sd15", "-experiment", "heartbeat", "-T", "20", "-steps", "30", "-eval", "20"}
	all := &laterCancel{Context: t.Context(), k: 1 << 30, done: make(chan struct{})}
	if code, _, errs := cli(t, all, args...); code != 0 {
		t.Fatalf("uncancelled run: exit %d, %q", code, errs)
	}
	for _, k := range []int{all.calls / 2, 3 * all.calls / 4, all.calls - 5} {
		ctx := &laterCancel{Context: t.Context(), k: k, done: make(chan struct{})}
		code, out, errs := cli(t, ctx, args...)
		if code != 130 || out != "" || !strings.HasSuffix(errs, "sdesample sd15: interrupted; no output written\n") {
			t.Errorf("cancel at check %d of %d: exit %d, stdout %q, stderr %q", k, all.calls, code, out, errs)
		}
	}
}

// train -lr 10 exited 0 with a mean loss of 3e11; it now stops with one
// line naming the divergence, exit 1, and writes no checkpoint.
func TestTrainDiverges(t *testing.T) {
	t.Chdir(t.TempDir())
	code, _, errs := cli(t, t.Context(), "train", "-lr", "10", "-hidden", "32,32", "-steps", "2000", "-o", "m.ckpt")
	if code != 1 || !strings.Contains(errs, "training diverged at step") || strings.Count(errs, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat("m.ckpt"); err == nil {
		t.Error("a diverged run wrote its checkpoint")
	}
}

// A point that needs more than -max-steps step attempts stops the run with
// a line naming it and the other points of its solve that hit the budget
// (a diverged model ran on for minutes, silently).
func TestLikelihoodStepBudget(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("p.csv", []byte("x0,x1\n0.5,0.25\n4,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli(t, t.Context(), "likelihood", "-score", "gmm8", "-data", "p.csv", "-o", "r.csv", "-max-steps", "3", "-workers", "1")
	if code != 1 || !strings.Contains(errs, "data row 0: ode: maximum number of steps reached") || !strings.Contains(errs, "raise the step limit (-max-steps)") ||
		!strings.Contains(errs, "data row 1 of the same 2 points hit it too") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat("r.csv"); err == nil {
		t.Error("a failed run left its output")
	}
}
