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
