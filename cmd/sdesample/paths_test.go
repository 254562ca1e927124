package main

import (
	"os"
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
