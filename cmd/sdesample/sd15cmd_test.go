package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The sd15 command at a tiny budget prints both estimates of K, L_null and the
// truth; a bad experiment name is a usage error (exit 2) with one line.
func TestSD15Command(t *testing.T) {
	for _, exp := range []string{"heartbeat", "swissroll"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"sd15", "-experiment", exp, "-T", "20", "-steps", "50", "-eval", "40"}, &out, &errb)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", exp, code, errb.String())
		}
		for _, want := range []string{"K (KL terms)", "K (trajectories)", "true log-likelihood", "K - L_null"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: output lacks %q:\n%s", exp, want, out.String())
			}
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"sd15", "-experiment", "nope"}, &out, &errb); code != 2 ||
		errb.String() != "sdesample sd15: -experiment \"nope\": use heartbeat or swissroll\n" {
		t.Errorf("bad experiment: exit %d, %q", code, errb.String())
	}
}
