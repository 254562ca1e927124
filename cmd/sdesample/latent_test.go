package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/data"
)

// TestLatentCLI runs latent diffusion end to end on the digits with tiny
// budgets (autoencoder, train -latent, resume, sample with -latents and
// -plot, likelihood) and checks that every bad input is one line.
func TestLatentCLI(t *testing.T) {
	dir := t.TempDir()
	ae := filepath.Join(dir, "ae.ckpt")
	out := mustRun(t, "autoencoder", "-data", "digits-train", "-test", "digits-test", "-latent", "4", "-hidden", "32",
		"-steps", "50", "-batch", "32", "-o", ae)
	if !strings.Contains(out, "reconstruction D(mu(x)) of all 359 rows of digits-test") || !strings.Contains(out, "latent scale factor") {
		t.Errorf("autoencoder: %q", out)
	}
	ldmArgs := func(o string, extra ...string) []string {
		a := []string{"train", "-latent", ae, "-data", "digits-train", "-hidden", "16", "-steps", "20", "-batch", "32", "-o", o}
		return append(a, extra...)
	}
	ldm := filepath.Join(dir, "ldm.ckpt")
	if out := mustRun(t, ldmArgs(ldm)...); !strings.Contains(out, "in the 4-dim latent space of the autoencoder") {
		t.Errorf("train -latent: %q", out)
	}
	// A resumed latent run finds its autoencoder and continues bit for bit.
	half, cont := filepath.Join(dir, "half.ckpt"), filepath.Join(dir, "cont.ckpt")
	mustRun(t, ldmArgs(half, "-steps", "10")...)
	mustRun(t, "train", "-resume", half, "-steps", "20", "-o", cont)
	if !sameBytes(t, ldm, cont) {
		t.Error("a resumed latent run differs from the uninterrupted one")
	}
	samples, lat, png := filepath.Join(dir, "s.npy"), filepath.Join(dir, "z.csv"), filepath.Join(dir, "g.png")
	out = mustRun(t, "sample", "-score", ldm, "-sampler", "ddim", "-steps", "10", "-n", "70", "-o", samples, "-latents", lat, "-plot", png)
	if !strings.Contains(out, "wrote 70 samples of dimension 64") || !strings.Contains(out, "drew the first 64 decoded samples") {
		t.Errorf("sample: %q", out)
	}
	if tab, err := data.Load(lat); err != nil || tab.N != 70 || tab.D != 4 {
		t.Errorf("latents file: %v", err)
	}
	if b := readFile(t, png); len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Error("the -plot file is not a PNG")
	}
	lik := filepath.Join(dir, "l.csv")
	out = mustRun(t, "likelihood", "-score", ldm, "-data", samples, "-o", lik, "-rtol", "1e-3", "-atol", "1e-3")
	if !strings.Contains(out, "encoded to z = s mu(x) in R^4") || !strings.Contains(out, "log p_U(mu(x))") {
		t.Errorf("likelihood: %q", out)
	}

	pix := filepath.Join(dir, "pix.ckpt")
	mustRun(t, trainArgs(pix)...)
	for _, c := range []struct {
		code int
		args []string
		msg  string
	}{
		{2, ldmArgs(filepath.Join(dir, "x.ckpt"), "-data", "gmm8"), "the autoencoder encodes rows of 64 values but the data gmm8 have 2"},
		{2, ldmArgs(filepath.Join(dir, "x.ckpt"), "-latent", pix), "holds a score network (kind mlp), not an autoencoder"},
		{2, ldmArgs(filepath.Join(dir, "x.ckpt"), "-conditional"), "latent models are unconditional"},
		{2, []string{"sample", "-score", ae, "-o", filepath.Join(dir, "x.csv")}, "holds an autoencoder, not a score network"},
		{2, []string{"sample", "-score", pix, "-o", filepath.Join(dir, "x.csv"), "-latents", lat + "2"}, "is not a latent model"},
		{2, []string{"likelihood", "-score", ldm, "-data", samples, "-data-range", "-1,1", "-o", filepath.Join(dir, "x.csv")}, "a density of latents"},
		{1, []string{"likelihood", "-score", ldm, "-data", lat, "-o", filepath.Join(dir, "x.csv")}, "encodes rows of 64"},
		{2, []string{"classify", "-model", ae, "-data", "digits"}, "holds an autoencoder"},
	} {
		code, _, errs := cli(t, context.Background(), c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("sdesample %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(c.args, " "), code, errs, c.code, c.msg)
		}
	}
	// The latent model without its autoencoder, and with another one.
	other := filepath.Join(dir, "other.ckpt")
	mustRun(t, "autoencoder", "-data", "digits-train", "-latent", "4", "-hidden", "32", "-steps", "5", "-seed", "2", "-o", other)
	moved := filepath.Join(dir, "moved.ckpt")
	if err := os.Rename(ae, moved); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ setup, msg string }{
		{"", "needs its autoencoder"},
		{other, "with SHA-256"},
	} {
		if c.setup != "" {
			os.WriteFile(ae, readFile(t, c.setup), 0o644)
		}
		code, _, errs := cli(t, context.Background(), "sample", "-score", ldm, "-n", "2", "-o", filepath.Join(dir, "x.csv"))
		if code != 1 || !strings.Contains(errs, c.msg) || strings.Count(errs, "\n") != 1 {
			t.Errorf("latent model, autoencoder %q: exit %d, stderr %q; want exit 1 and one line with %q", c.setup, code, errs, c.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); err == nil {
		t.Error("a refused run left an output file")
	}
}
