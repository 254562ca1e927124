package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/discretize"
	"github.com/sdekit/sdekit/sd15"
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

// sd15 -oracle prints the exact ceiling of the sd15 package (to the 4
// decimals printed) and its trajectory estimate; a trained heartbeat prints
// the ceiling beside its K; -T below 2 and -oracle for the swissroll are
// usage errors of one line.
func TestSD15Oracle(t *testing.T) {
	h := sd15.NewHeartbeat()
	o, err := sd15.NewHeartbeatOracle(h, discretize.Binomial{T: 30, P: h.OnesRate()})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"sd15", "-oracle", "-T", "30", "-eval", "20"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{fmt.Sprintf("K* (exact, KL form)      %.4f bits", o.Bound().K), "K (trajectories)", "standard errors from K*"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"sd15", "-T", "30", "-steps", "20", "-eval", "10"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "factorised ceiling K*") {
		t.Errorf("trained heartbeat: exit %d, output:\n%s", code, out.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sd15", "-T", "1"}, "sdesample sd15: -T 1: need at least 2 diffusion steps (0: the default, 2000 heartbeat, 40 swissroll)\n"},
		{[]string{"sd15", "-oracle", "-T", "-3"}, "sdesample sd15: -T -3: need at least 2 diffusion steps (0: the default, 2000 heartbeat, 40 swissroll)\n"},
		{[]string{"sd15", "-segments", "0"}, "sdesample sd15: -segments 0: use 1 to T - 1 (one network per run of steps)\n"},
		{[]string{"sd15", "-step-readouts", "-basis", "0"}, "sdesample sd15: -step-readouts with -basis 0: there is a readout per step already; drop one of the two\n"},
		{[]string{"sd15", "-oracle", "-experiment", "swissroll"}, "sdesample sd15: -oracle: the swissroll has no exact oracle (only the heartbeat's data are a finite set); use -experiment heartbeat\n"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), c.args, &out, &errb); code != 2 || errb.String() != c.want || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", c.args, code, errb.String(), out.String())
		}
	}
}
