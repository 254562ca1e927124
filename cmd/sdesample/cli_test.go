package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/sample"
)

// cli runs the command line in-process and returns its exit status, stdout
// and stderr.
func cli(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cli(t, context.Background(), args...)
	if code != 0 {
		t.Fatalf("sdesample %s: exit %d\nstderr: %s", strings.Join(args, " "), code, errs)
	}
	if errs != "" {
		t.Fatalf("sdesample %s: wrote to stderr on success (not a terminal, so no progress bar): %q", strings.Join(args, " "), errs)
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noStrayFiles fails if dir holds anything but the named files: a temporary
// file left behind would mean an output that was not cleaned up.
func noStrayFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]bool{}
	for _, w := range want {
		ok[w] = true
	}
	for _, e := range ents {
		if !ok[e.Name()] {
			t.Errorf("unexpected file %s in %s", e.Name(), dir)
		}
	}
}

// sampleArgs is a small, fast sampling run.
func sampleArgs(sampler, out string, extra ...string) []string {
	a := []string{"sample", "-sde", "vp", "-score", "gmm8", "-sampler", sampler, "-steps", "40", "-n", "23", "-seed", "7", "-o", out}
	return append(a, extra...)
}

// TestShardsMergeBitForBit checks the contract of -shard and merge: the
// shards, merged, are byte for byte the unsharded output, for every sampler
// family, CSV and NPY; and -block and -workers change nothing.
func TestShardsMergeBitForBit(t *testing.T) {
	dir := t.TempDir()
	for _, sampler := range []string{"em", "pc", "ode", "ddpm"} {
		for _, ext := range []string{".csv", ".npy"} {
			t.Run(sampler+ext, func(t *testing.T) {
				full := filepath.Join(dir, sampler+"-full"+ext)
				mustRun(t, sampleArgs(sampler, full, "-block", "1000", "-workers", "1")...)
				// Blocks of 4 rows, 2 workers: same bytes.
				blocked := filepath.Join(dir, sampler+"-blocked"+ext)
				mustRun(t, sampleArgs(sampler, blocked, "-block", "4", "-workers", "2")...)
				if !bytes.Equal(readFile(t, full), readFile(t, blocked)) {
					t.Fatal("-block 4 -workers 2 differs from -block 1000 -workers 1")
				}
				// Three shards (23 rows: 8, 8, 7), the middle one from the
				// Kubernetes variable, merged.
				var shards []string
				for i, spec := range []string{"0/3", "auto/3", "2/3"} {
					p := filepath.Join(dir, sampler+"-shard"+string(rune('0'+i))+ext)
					if spec == "auto/3" {
						t.Setenv(envK8sIndex, "1")
					}
					mustRun(t, sampleArgs(sampler, p, "-shard", spec, "-block", "3")...)
					shards = append(shards, p)
				}
				merged := filepath.Join(dir, sampler+"-merged"+ext)
				mustRun(t, append([]string{"merge", "-o", merged}, shards...)...)
				if !bytes.Equal(readFile(t, full), readFile(t, merged)) {
					t.Fatal("merged shards differ from the unsharded run")
				}
			})
		}
	}
}

// TestLikelihoodShardsMerge checks the same contract for likelihood results.
func TestLikelihoodShardsMerge(t *testing.T) {
	dir := t.TempDir()
	pts := filepath.Join(dir, "pts.npy")
	mustRun(t, "data", "-from", "gmm8", "-n", "11", "-seed", "3", "-o", pts)
	base := []string{"likelihood", "-sde", "vp", "-score", "gmm8", "-data", pts, "-seed", "5", "-rtol", "1e-3", "-atol", "1e-3"}
	full := filepath.Join(dir, "full.csv")
	out := mustRun(t, append(base, "-o", full, "-block", "100", "-workers", "1")...)
	for _, want := range []string{"log p_eps of 11 points", "not of p_0", "mean bits/dim", "convention", "exact log p_eps of the oracle"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	blocked := filepath.Join(dir, "blocked.csv")
	mustRun(t, append(base, "-o", blocked, "-block", "2", "-workers", "2")...)
	if !bytes.Equal(readFile(t, full), readFile(t, blocked)) {
		t.Fatal("likelihood with -block 2 -workers 2 differs")
	}
	var shards []string
	for i, spec := range []string{"0/2", "1/2"} {
		p := filepath.Join(dir, "shard"+string(rune('0'+i))+".csv")
		mustRun(t, append(base, "-o", p, "-shard", spec, "-block", "3")...)
		shards = append(shards, p)
	}
	merged := filepath.Join(dir, "merged.csv")
	mustRun(t, append([]string{"merge", "-o", merged}, shards...)...)
	if !bytes.Equal(readFile(t, full), readFile(t, merged)) {
		t.Fatal("merged likelihood shards differ from the unsharded run")
	}
	// The same points as CSV (read whole, not streamed) give the same bytes.
	ptsCSV := filepath.Join(dir, "pts.csv")
	mustRun(t, "data", "-from", "gmm8", "-n", "11", "-seed", "3", "-o", ptsCSV)
	fromCSV := filepath.Join(dir, "fromcsv.csv")
	mustRun(t, "likelihood", "-sde", "vp", "-score", "gmm8", "-data", ptsCSV, "-seed", "5", "-rtol", "1e-3", "-atol", "1e-3", "-o", fromCSV)
	if !bytes.Equal(readFile(t, full), readFile(t, fromCSV)) {
		t.Fatal("the points as CSV give other results than as NPY")
	}
	head := strings.SplitN(string(readFile(t, full)), "\n", 2)[0]
	if head != "row,logp,bpd,nfe,accepted,rejected,logp_stderr,bpd_stderr" {
		t.Fatalf("header %q", head)
	}
}

// TestMergeRefusesBadShards checks that a misordered or missing shard is an
// error, not a silently wrong file.
func TestMergeRefusesBadShards(t *testing.T) {
	dir := t.TempDir()
	var shards []string
	for i, spec := range []string{"0/3", "1/3", "2/3"} {
		p := filepath.Join(dir, "s"+string(rune('0'+i))+".csv")
		mustRun(t, "data", "-n", "7", "-shard", spec, "-o", p)
		shards = append(shards, p)
	}
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"missing", []string{"-rows", "7", shards[0], shards[1]}, 1},
		{"misordered", []string{shards[2], shards[0], shards[1]}, 1},
		{"repeated", []string{shards[0], shards[0], shards[2]}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := cli(t, context.Background(), append([]string{"merge", "-o", filepath.Join(dir, "m.csv")}, c.args...)...)
			if code != c.code || !strings.Contains(errs, "give every shard once, in shard order") {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
		})
	}
	noStrayFiles(t, dir, "s0.csv", "s1.csv", "s2.csv")
}

// TestBadInputs checks the exact line the user sees and the exit status for
// each bad input, that no panic trace reaches the user, and that no output
// (or temporary file) is left behind.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	files := map[string]string{
		"ragged.csv": "x0,x1\n1,2\n3\n",
		"nan.csv":    "x0,x1\n1,2\n3,NaN\n",
		"three.csv":  "1,2,3\n4,5,6\n",
		"bad.ckpt":   "this is not a checkpoint",
		"good.csv":   "x0,x1\n0.5,0.25\n",
	}
	for name, body := range files {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An NPY file with a NaN in row 2, column 1 (streamed, not loaded whole).
	var npy bytes.Buffer
	nw := data.NewNPYWriter(&npy, 3, 2)
	if err := nw.WriteRows([]float64{1, 2, 3, 4, 5, math.NaN()}); err != nil || nw.Close() != nil {
		t.Fatal("writing nan.npy")
	}
	if err := os.WriteFile("nan.npy", npy.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	lik := func(extra ...string) []string {
		return append([]string{"likelihood", "-score", "gmm8", "-o", "r.csv"}, extra...)
	}
	smp := func(extra ...string) []string {
		return append([]string{"sample", "-score", "gmm8", "-n", "4", "-steps", "5", "-o", "s.csv"}, extra...)
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		line string
	}{
		{"missing file", lik("-data", "missing.csv"), nil, 1,
			"sdesample likelihood: -data missing.csv: no such file"},
		{"ragged CSV", lik("-data", "ragged.csv"), nil, 1,
			"sdesample likelihood: -data ragged.csv line 3: 1 values, want 2 (rows must all have the same length)"},
		{"NaN in data", lik("-data", "nan.csv"), nil, 1,
			"sdesample likelihood: -data nan.csv line 3 column 2: NaN; remove or impute non-finite values"},
		{"NaN in NPY data", lik("-data", "nan.npy"), nil, 1,
			"sdesample likelihood: -data nan.npy element [2, 1]: NaN; remove or impute non-finite values"},
		{"wrong dimension", lik("-data", "three.csv"), nil, 1,
			"sdesample likelihood: -data three.csv: 3 columns, but -score gmm8 has dimension 2; give points of the model's dimension"},
		{"bench repeat 0", []string{"bench", "-quick", "-repeat", "0"}, nil, 2,
			"sdesample bench: -repeat = 0; use 1 or more runs per case"},
		{"unknown sampler", smp("-sampler", "heun"), nil, 2,
			`sdesample sample: -sampler "heun": unknown sampler; use em, pc, ode, ddpm, ddim, ` + strings.Join(sample.Names()[5:], ", ")},
		{"steps 0", smp("-steps", "0"), nil, 2,
			"sdesample sample: -steps: 0: give a value >= 1 (the default is 1000)"},
		{"multistep with fewer steps than its order", smp("-sampler", "dpmpp-3m", "-steps", "2"), nil, 2,
			"sdesample sample: -steps 2: a multistep method of order 3 needs at least 3 steps (0 selects 20)"},
		{"unknown schedule", smp("-sampler", "unipc", "-schedule", "cosine"), nil, 2,
			`sdesample sample: -schedule: "cosine" is unknown; use t, logsnr, karras or quadratic`},
		{"schedule on an adaptive solver", smp("-sampler", "ode", "-schedule", "karras"), nil, 2,
			"sdesample sample: -schedule karras: the adaptive solver dopri5 chooses its own steps; a schedule applies to the fixed-step solvers (heun, euler, rk4, midpoint)"},
		{"rho < 0", smp("-sampler", "edm-heun", "-rho", "-1"), nil, 2,
			"sdesample sample: -rho -1: must be finite and > 0 (0 selects 7)"},
		{"churn < 0", smp("-sampler", "edm-sde", "-churn", "-1"), nil, 2,
			"sdesample sample: -churn -1: must be finite and >= 0 (0: no churn, as edm-heun; the default is 40)"},
		{"unsupported SDE", smp("-sampler", "ddim", "-sde", "ve"), nil, 2,
			"sdesample sample: the ddim sampler cannot run on the ve SDE; it needs a VP SDE (DDPM is the discretised VP SDE: sde.BetaGrid); use another sampler for sub-VP, VE and EDM"},
		{"unknown controller", smp("-sampler", "ode", "-controller", "pid"), nil, 2,
			`sdesample sample: -controller: "pid" is unknown; use i, pi3040, pi4020 or dopri5`},
		{"rtol 0 (sample)", smp("-sampler", "ode", "-rtol", "0"), nil, 2,
			"sdesample sample: -rtol: 0: give a value > 0 (the default is 1e-05)"},
		{"unknown controller (likelihood)", lik("-data", "good.csv", "-controller", "pi"), nil, 2,
			`sdesample likelihood: -controller "pi": unknown step-size controller; use i, pi3040, pi4020 or dopri5`},
		{"rtol < 0 (likelihood)", lik("-data", "good.csv", "-rtol", "-1e-5"), nil, 2,
			"sdesample likelihood: -rtol -1e-05: tolerances must be finite and > 0 (typical 1e-5)"},
		{"eps >= T", smp("-eps", "1"), nil, 2,
			"sdesample sample: -eps 1: the time cut-off must lie strictly between 0 and T = 1 (0 selects the SDE's default)"},
		{"eps >= T (likelihood)", lik("-data", "good.csv", "-eps", "2"), nil, 2,
			"sdesample likelihood: -eps 2: the time cut-off must lie strictly between 0 and T = 1 (typical: 1e-3 for vp and subvp, 1e-5 for ve and for likelihoods)"},
		{"corrupt checkpoint", smp("-score", "bad.ckpt"), nil, 1,
			"sdesample sample: -score bad.ckpt: not an sdekit model checkpoint (bad magic); is it a checkpoint written by sdesample train?"},
		{"shard 3/2", smp("-shard", "3/2"), nil, 2,
			"sdesample sample: -shard 3/2: index 3 is not below the shard count 2; shards are numbered 0 to 1"},
		{"shard not a spec", smp("-shard", "1.5/2"), nil, 2,
			`sdesample sample: -shard "1.5/2": the index before / must be a whole number >= 0 or auto`},
		{"shard does not split cleanly", smp("-shard", "3/5"), nil, 2,
			"sdesample sample: -shard 3/5: 4 samples do not split into 5 shards (shard 4 would be empty); use at most 4 shards"},
		{"scheduler variable not a number", smp("-shard", "auto/4"), map[string]string{envK8sIndex: "three"}, 2,
			`sdesample sample: -shard auto/4: JOB_COMPLETION_INDEX="three" is not a whole number >= 0`},
		{"slurm index too large", smp("-shard", "auto/4"), map[string]string{envSlurmIndex: "4"}, 2,
			"sdesample sample: -shard auto/4: SLURM_ARRAY_TASK_ID=4 is not below the shard count 4; submit the array as --array=0-3"},
		{"auto without a scheduler", smp("-shard", "auto/4"), nil, 2,
			"sdesample sample: -shard auto/4: neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set; run it as a Kubernetes indexed Job or a Slurm array task, or give the index (for example -shard 0/4)"},
		{"block 0", smp("-block", "0"), nil, 2,
			"sdesample sample: -block 0: the block size is a number of rows >= 1 (default 4096)"},
		{"output in a missing folder", smp("-o", "nodir/s.csv"), nil, 1,
			"sdesample sample: -o nodir/s.csv: cannot create: folder nodir does not exist (create it first)"},
		{"output format", smp("-o", "s.txt"), nil, 2,
			"sdesample sample: -o s.txt: unknown extension; use .csv or .npy"},
		{"unknown flag", smp("-bogus"), nil, 2,
			"sdesample sample: unknown flag -bogus; run sdesample sample -h for the flags"},
		{"unknown command", []string{"smaple"}, nil, 2,
			`sdesample: unknown command "smaple"; run sdesample -h for the list`},
		{"ddpm with ve", smp("-sde", "ve", "-sampler", "ddpm"), nil, 2,
			"sdesample sample: the ddpm sampler cannot run on the ve SDE; it needs a VP SDE (DDPM is the discretised VP SDE: sde.BetaGrid); use another sampler for sub-VP, VE and EDM"},
		{"unknown score", smp("-score", "gmm9"), nil, 2,
			`sdesample sample: -score "gmm9": unknown score; use gmm8, gauss:D (for example gauss:64), mixture:FILE.json or a MODEL.ckpt file`},
		{"missing mixture file", smp("-score", "mixture:nofile.json"), nil, 1,
			"sdesample sample: -score mixture:nofile.json: no such file"},
		{"plot format", smp("-plot", "p.jpg"), nil, 2,
			"sdesample sample: -plot p.jpg: unknown picture format; use .png or .svg"},
		{"data outside the declared range", lik("-data", "good.csv", "-data-range", "0,0.3"), nil, 1,
			"sdesample likelihood: -data good.csv: data row 0 column 0 is 0.5, outside the declared range [0, 0.3]; rescale the data or declare its range"},
		{"merge without files", []string{"merge", "-o", "m.csv"}, nil, 2,
			"sdesample merge: no shard files; give them after the flags in shard order 0, 1, ..., n-1"},
		{"replay of a missing record", []string{"replay", "run.json"}, nil, 1,
			"sdesample replay: run.json: no such file"},
		{"negative tolerance of an adaptive SDE solver", smp("-sampler", "sra1", "-rtol", "-1"), nil, 2,
			"sdesample sample: -rtol -1: must be finite and > 0 (adaptive steps), or 0 (fixed steps)"},
		{"adaptive-sde tolerance", []string{"sample", "-score", "gmm8", "-n", "4", "-o", "s.csv", "-sampler", "adaptive-sde", "-atol", "-0.1"}, nil, 2,
			"sdesample sample: -atol -0.1: must be finite and > 0 (0 selects 0.01)"},
		{"adaptive SDE solver on streams", smp("-sampler", "shark", "-noise", "streams", "-rtol", "0.01"), nil, 2,
			"sdesample sample: adaptive shark retries a rejected step on the same Brownian path, and Streams draws fresh noise for it (which biases the accepted noise); use -noise tree (Config.Noise = sample.BrownianTree{}) or fixed steps (rtol = atol = 0)"},
		{"unknown noise", smp("-noise", "pink"), nil, 2,
			`sdesample sample: -noise "pink": unknown; use streams or tree (or leave it empty for the sampler's default)`},
		{"output is the input data", lik("-data", "good.csv", "-o", "good.csv"), nil, 2,
			"sdesample likelihood: -o good.csv is also the input -data: the run would replace it; write to another file"},
		{"two outputs in one file", smp("-sampler", "ode", "-plot", "p.png", "-plot-steps", "p.png"), nil, 2,
			"sdesample sample: -plot-steps p.png is also -plot: give each output its own file"},
		{"plot in a missing folder, before the work", smp("-plot", "nodir/p.png"), nil, 1,
			"sdesample sample: -plot nodir/p.png: cannot create: folder nodir does not exist (create it first)"},
		{"likelihood to a non-csv file", lik("-data", "good.csv", "-o", "x.npy"), nil, 2,
			"sdesample likelihood: -o x.npy: likelihood results are written as .csv; give a .csv file"},
		{"output is a folder", smp("-o", "dir/"), nil, 2,
			"sdesample sample: -o dir/ is a folder; give a file name in it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := getenv
			getenv = func(k string) string { return c.env[k] }
			defer func() { getenv = old }()
			code, out, errs := cli(t, context.Background(), c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			if got := strings.TrimSuffix(errs, "\n"); got != c.line {
				t.Errorf("stderr\n got %q\nwant %q", got, c.line)
			}
			if strings.Count(errs, "\n") != 1 || strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
				t.Errorf("stderr is not one plain line: %q", errs)
			}
			if out != "" {
				t.Errorf("stdout on failure: %q", out)
			}
			noStrayFiles(t, dir, "ragged.csv", "nan.csv", "nan.npy", "three.csv", "bad.ckpt", "good.csv")
		})
	}
}

// TestPanicIsOneLine checks that a panic inside a command reaches the user
// as one line and exit status 1, not a trace.
func TestPanicIsOneLine(t *testing.T) {
	register("zz-panic", "test only", func(context.Context, []string, io.Writer, io.Writer) error { panic("boom") })
	defer delete(commands, "zz-panic")
	code, _, errs := cli(t, context.Background(), "zz-panic")
	if code != 1 || errs != "sdesample: internal error: boom (please report this with the command line)\n" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

// TestInterrupt checks cancellation: exit 130, one line, and neither the
// output nor its temporary file left behind.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		sampleArgs("em", filepath.Join(dir, "s.csv")),
		sampleArgs("ode", filepath.Join(dir, "s.npy")),
		{"data", "-n", "10", "-o", filepath.Join(dir, "d.csv")},
	} {
		code, _, errs := cli(t, ctx, args...)
		if code != 130 || errs != "sdesample "+args[0]+": interrupted; no output written\n" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	noStrayFiles(t, dir)
}

// TestReplay checks that a recorded run replays bit for bit, that the record
// holds what the issue asks, and that a changed input is detected.
func TestReplay(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s.csv")
	rec := filepath.Join(dir, "run.json")
	mustRun(t, sampleArgs("ode", out, "-record", rec, "-shard", "1/2")...)
	var r Record
	if err := json.Unmarshal(readFile(t, rec), &r); err != nil {
		t.Fatal(err)
	}
	if r.Seed != 7 || r.Shard != "1/2" || r.Flags["sampler"] != "ode" || r.Flags["rtol"] != "1e-05" || r.GoVersion == "" ||
		r.Module == "" || r.Stats == nil || r.Stats.NFETotal <= 0 || r.Stats.Accepted <= 0 || r.Rows != 11 || r.WallSeconds <= 0 || len(r.OutputSHA256) != 64 {
		t.Fatalf("record lacks fields: %+v", r)
	}
	got := mustRun(t, "replay", rec)
	if !strings.Contains(got, "reproduces "+out+" bit for bit") {
		t.Fatalf("replay output %q", got)
	}
	replayed := filepath.Join(dir, "s.replay.csv")
	if !bytes.Equal(readFile(t, out), readFile(t, replayed)) {
		t.Fatal("replayed output differs")
	}

	// Likelihood, with an input file whose digest the record keeps.
	pts := filepath.Join(dir, "pts.csv")
	mustRun(t, "data", "-from", "gauss:3", "-n", "5", "-o", pts)
	lrec := filepath.Join(dir, "lik.json")
	lout := filepath.Join(dir, "lik.csv")
	mustRun(t, "likelihood", "-score", "gauss:3", "-data", pts, "-o", lout, "-record", lrec, "-probes", "2")
	alt := filepath.Join(dir, "again.csv")
	mustRun(t, "replay", "-o", alt, lrec)
	if !bytes.Equal(readFile(t, lout), readFile(t, alt)) {
		t.Fatal("replayed likelihood differs")
	}
	if err := os.WriteFile(pts, []byte("x0,x1,x2\n1,2,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli(t, context.Background(), "replay", lrec)
	if code != 1 || !strings.Contains(errs, "has changed since the run") {
		t.Fatalf("changed input: exit %d, stderr %q", code, errs)
	}
}

// TestPlots checks that every picture decodes as an image of the stated
// size (PNG) or is an SVG of that size in points (x 0.75).
func TestPlots(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	mustRun(t, "data", "-from", "gmm8", "-n", "20", "-o", p("pts.csv"))
	runs := []struct {
		args  []string
		plots []string
	}{
		{sampleArgs("ode", p("a.csv"), "-plot", p("scatter.png"), "-plot-steps", p("steps.png"), "-plot-size", "640x480"), []string{"scatter.png", "steps.png"}},
		{[]string{"sample", "-score", "gauss:5", "-n", "50", "-steps", "10", "-o", p("b.npy"), "-plot", p("marg.png"), "-plot-size", "640x480"}, []string{"marg.png"}},
		{[]string{"trajectory", "-score", "gmm8", "-sampler", "em", "-steps", "10", "-n", "4", "-points", "5", "-o", p("tr.csv"), "-plot", p("paths.png"), "-plot-size", "640x480"}, []string{"paths.png"}},
		{[]string{"likelihood", "-score", "gmm8", "-data", p("pts.csv"), "-rtol", "1e-3", "-atol", "1e-3", "-o", p("l.csv"), "-plot", p("bpd.png"), "-plot-size", "640x480"}, []string{"bpd.png"}},
		{sampleArgs("em", p("c.csv"), "-plot", p("scatter.svg"), "-plot-size", "640x480"), []string{"scatter.svg"}},
	}
	for _, r := range runs {
		mustRun(t, r.args...)
		for _, name := range r.plots {
			b := readFile(t, p(name))
			if strings.HasSuffix(name, ".svg") {
				if !bytes.Contains(b, []byte(`width="480pt" height="360pt"`)) {
					t.Errorf("%s: not a 480x360 pt SVG: %.200s", name, b)
				}
				continue
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if s := img.Bounds().Size(); s.X != 640 || s.Y != 480 {
				t.Errorf("%s is %dx%d, want 640x480", name, s.X, s.Y)
			}
		}
	}
}

// TestDataCommand checks that data rows come from per-row streams: a shard
// holds the same rows as the full draw, and a different seed changes them.
func TestDataCommand(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.csv")
	mustRun(t, "data", "-from", "moons", "-n", "6", "-seed", "2", "-o", full)
	part := filepath.Join(dir, "part.csv")
	mustRun(t, "data", "-from", "moons", "-n", "6", "-seed", "2", "-shard", "1/2", "-o", part, "-block", "1")
	fl := strings.Split(strings.TrimSpace(string(readFile(t, full))), "\n")
	pl := strings.Split(strings.TrimSpace(string(readFile(t, part))), "\n")
	if len(fl) != 7 || len(pl) != 4 || pl[1] != fl[2] || pl[2] != fl[4] || pl[3] != fl[6] {
		t.Fatalf("shard 1/2 rows %v are not rows 1, 3, 5 of %v", pl, fl)
	}
	other := filepath.Join(dir, "other.csv")
	mustRun(t, "data", "-from", "moons", "-n", "6", "-seed", "3", "-o", other)
	if bytes.Equal(readFile(t, full), readFile(t, other)) {
		t.Fatal("seed 3 gave the rows of seed 2")
	}
}

// TestProgressOnlyOnTerminal checks that a terminal gets a progress bar and
// a pipe gets nothing (mustRun already fails on any stderr output).
func TestProgressOnlyOnTerminal(t *testing.T) {
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	defer func() { isTerminal = old }()
	dir := t.TempDir()
	code, _, errs := cli(t, context.Background(), sampleArgs("em", filepath.Join(dir, "s.csv"))...)
	if code != 0 || !strings.Contains(errs, "sample") || !strings.Contains(errs, "23/23") {
		t.Fatalf("exit %d, no progress bar on the terminal: %q", code, errs)
	}
}

// TestBenchQuick checks that the quick bench runs and prints the table with
// the core count in the header and the reference column.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("bench -quick takes a few seconds")
	}
	out := mustRun(t, "bench", "-quick", "-repeat", "2", "-problems", "gmm8,gauss:3", "-sdes", "vp,ve", "-samplers", "em,ode")
	for _, want := range []string{"cores (GOMAXPROCS", "the fastest of 2 runs", "ref s", "ratio", "likelihood:"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench output lacks %q:\n%s", want, out)
		}
	}
	// One row per problem x SDE x sampler, and per problem x SDE for the
	// likelihood; the gmm8 VP rows carry a reference time (scaled) and ratio.
	rows := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && (f[0] == "gmm8" || f[0] == "gauss:3") {
			rows[f[0]+" "+f[1]+" "+f[2]]++
			if f[0] == "gmm8" && f[1] == "vp" && f[len(f)-1] == "-" {
				t.Errorf("gmm8 vp row without a reference ratio: %q", line)
			}
		}
	}
	for _, k := range []string{"gmm8 vp em", "gmm8 ve ode", "gauss:3 vp em", "gauss:3 ve ode", "gmm8 vp 50", "gauss:3 ve 50"} {
		if rows[k] != 1 {
			t.Errorf("%d rows for %q, want 1:\n%s", rows[k], k, out)
		}
	}
}

// TestTrainCheckpoint trains a tiny network, samples and evaluates a
// likelihood with it, refuses it under another SDE, and replays the training
// run bit for bit (the trainer draws every batch from its own stream).
func TestTrainCheckpoint(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "m.ckpt")
	rec := filepath.Join(dir, "train.json")
	mustRun(t, "train", "-sde", "vp", "-data", "moons", "-hidden", "8", "-steps", "30", "-batch", "16", "-o", ck, "-record", rec)
	mustRun(t, "sample", "-sde", "vp", "-score", ck, "-n", "5", "-steps", "10", "-o", filepath.Join(dir, "s.csv"))
	pts := filepath.Join(dir, "p.csv")
	mustRun(t, "data", "-from", "moons", "-n", "3", "-o", pts)
	mustRun(t, "likelihood", "-sde", "vp", "-score", ck, "-data", pts, "-rtol", "1e-3", "-atol", "1e-3", "-o", filepath.Join(dir, "l.csv"))
	code, _, errs := cli(t, context.Background(), "sample", "-sde", "ve", "-score", ck, "-n", "5", "-o", filepath.Join(dir, "v.csv"))
	if code != 1 || !strings.Contains(errs, "(use -sde vp)") {
		t.Fatalf("checkpoint under the wrong SDE: exit %d, stderr %q", code, errs)
	}
	if out := mustRun(t, "replay", rec); !strings.Contains(out, "bit for bit") {
		t.Fatalf("train replay: %q", out)
	}
	noStrayFiles(t, dir, "m.ckpt", "train.json", "s.csv", "p.csv", "l.csv", "m.replay.ckpt")
}

// laterCancel is a context that is cancelled from its k-th use (a call of
// Done or Err) on: a run is stopped part-way, after some blocks have been
// written to the temporary file. It is used from one goroutine at a time
// (-workers 1) but guards its counter anyway.
type laterCancel struct {
	context.Context
	mu       sync.Mutex
	calls, k int
	done     chan struct{}
}

func (c *laterCancel) use() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls >= c.k {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
		return true
	}
	return false
}

func (c *laterCancel) Done() <-chan struct{} {
	c.use()
	return c.done
}

func (c *laterCancel) Err() error {
	if c.use() {
		return context.Canceled
	}
	return nil
}

// TestInterruptMidRun stops a blocked run part-way: the blocks already
// written must vanish with the temporary file, and the exit status is 130.
func TestInterruptMidRun(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []int{3, 8} {
		ctx := &laterCancel{Context: context.Background(), k: k, done: make(chan struct{})}
		code, _, errs := cli(t, ctx, sampleArgs("em", filepath.Join(dir, "s.csv"), "-block", "4", "-workers", "1")...)
		if code != 130 || errs != "sdesample sample: interrupted; no output written\n" {
			t.Fatalf("cancel after %d checks: exit %d, stderr %q", k, code, errs)
		}
		noStrayFiles(t, dir)
	}
}
