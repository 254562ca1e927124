package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sdekit/sdekit/sample"
)

// TestOrderCommand runs `order` on the fixed-step Heun flow: a table of the
// step counts and a last line "order X.XX" within 0.25 of 2 (the band of
// study's checkOrder: pre-asymptotic error constants move a fit by 0.1-0.2;
// a method one order off misses by 0.75 or more).
func TestOrderCommand(t *testing.T) {
	out := mustRun(t, "order", "-sampler", "ode", "-solver", "heun", "-score", "gauss:4", "-n", "16", "-steps-list", "10,20,40,80")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	m := regexp.MustCompile(`^order (-?\d+\.\d\d)$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line %q is not \"order X.XX\"; output:\n%s", last, out)
	}
	p, _ := strconv.ParseFloat(m[1], 64)
	if math.Abs(p-2) > 0.25 {
		t.Errorf("Heun: order %v, want 2 within 0.25\n%s", p, out)
	}
	rows := 0
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 4 && (f[0] == "10" || f[0] == "20" || f[0] == "40" || f[0] == "80") {
			rows++
			if n, _ := strconv.Atoi(f[0]); f[1] != strconv.Itoa(2*n)+".0" {
				t.Errorf("line %q: NFE %s, want %d (two evaluations a step)", l, f[1], 2*n)
			}
		}
	}
	if rows != 4 {
		t.Errorf("%d table rows, want 4:\n%s", rows, out)
	}
}

// TestOrderStochastic runs `order` on stochastic samplers: two tables (the
// strong error on one Brownian path, the exact weak error) and the lines
// "strong order X.XX" and "weak order Y.YY", the latter last. em: strong 1
// and weak 1 on additive noise; stochastic-heun: strong 1, weak 2 (the
// sample package's and study's tests measure them more closely). Bands:
// 0.3 on the strong order (64 rows: the RMS over them scatters the slope
// by about 0.1, and 10 steps are pre-asymptotic) and 0.25 on the weak
// order (exact, but 10 steps are pre-asymptotic: em's slope from 10 to 20
// is 1.9 on vp, so em starts at 20). A sampler whose draws are not all
// Brownian increments (pc's Langevin corrector) and one that is not affine
// in its noise get a line saying what is not measured.
func TestOrderStochastic(t *testing.T) {
	for _, tc := range []struct {
		sampler        []string
		steps          string
		strong, weak   float64
		wantNFEPerStep int
	}{
		{[]string{"-sampler", "em"}, "20,40,80,160", 1, 1, 1},
		{[]string{"-sampler", "stochastic-heun"}, "10,20,40,80", 1, 2, 2},
	} {
		out := mustRun(t, append([]string{"order", "-score", "gauss:4", "-n", "64", "-steps-list", tc.steps}, tc.sampler...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var strong, weak []string
		for _, l := range lines {
			if m := regexp.MustCompile(`^strong order (-?\d+\.\d\d)$`).FindStringSubmatch(l); m != nil {
				strong = m
			}
		}
		weak = regexp.MustCompile(`^weak order (-?\d+\.\d\d)$`).FindStringSubmatch(lines[len(lines)-1])
		if strong == nil || weak == nil {
			t.Fatalf("%v: no \"strong order X.XX\" line or last line not \"weak order Y.YY\":\n%s", tc.sampler, out)
		}
		ps, _ := strconv.ParseFloat(strong[1], 64)
		pw, _ := strconv.ParseFloat(weak[1], 64)
		if math.Abs(ps-tc.strong) > 0.3 || math.Abs(pw-tc.weak) > 0.25 {
			t.Errorf("%v: strong order %v (want %v), weak order %v (want %v)\n%s", tc.sampler, ps, tc.strong, pw, tc.weak, out)
		}
		rows4, rows6 := 0, 0
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 4 || !strings.Contains(","+tc.steps+",", ","+f[0]+",") {
				continue
			}
			n, _ := strconv.Atoi(f[0])
			if f[1] != strconv.Itoa(tc.wantNFEPerStep*n)+".0" {
				t.Errorf("%v: line %q: NFE %s, want %d", tc.sampler, l, f[1], tc.wantNFEPerStep*n)
			}
			switch len(f) {
			case 4:
				rows4++
			case 6:
				rows6++
			}
		}
		if want := len(strings.Split(tc.steps, ",")); rows4 != want || rows6 != want {
			t.Errorf("%v: %d strong and %d weak table rows, want %d each:\n%s", tc.sampler, rows4, rows6, want, out)
		}
	}
	out := mustRun(t, "order", "-sampler", "pc", "-corrector", "langevin", "-score", "gauss:2", "-n", "8", "-steps-list", "4,8")
	for _, want := range []string{"strong order not measured: the sampler draws noise that belongs to no time interval", "weak order not measured: study: the sampler is not affine"} {
		if !strings.Contains(out, want) {
			t.Errorf("pc with the langevin corrector: no line %q in\n%s", want, out)
		}
	}
}

// TestFrontierCommand runs a small frontier on gmm8 and on gauss:2: the
// table on stdout, the CSV with its columns and one row per (sampler, steps)
// (one for the adaptive ODE), and the picture.
func TestFrontierCommand(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		score string
		kl    bool
	}{{"gmm8", false}, {"gauss:2", true}} {
		csvPath, pic := p(tc.score[:4]+".csv"), p(tc.score[:4]+".png")
		out := mustRun(t, "frontier", "-score", tc.score, "-samplers", "ode solver=euler; ddim ;ode", "-steps-list", "5,10", "-n", "40",
			"-o", csvPath, "-plot", pic, "-plot-size", "640x480")
		for _, want := range []string{"frontier: " + tc.score + " under vp", "path_err", "ode solver=euler", "wrote " + csvPath, "drew " + pic} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", tc.score, want, out)
			}
		}
		if strings.Contains(out, " kl") != tc.kl {
			t.Errorf("%s: kl column shown %v, want %v:\n%s", tc.score, !tc.kl, tc.kl, out)
		}
		recs, err := csv.NewReader(bytes.NewReader(readFile(t, csvPath))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		cols := "sampler,schedule,steps,nfe,stochastic,path_err,mean_err,var_ratio,weight_err,logp_gap,logp_gap_se,sw2"
		if tc.kl {
			cols += ",kl"
		}
		if got := strings.Join(recs[0], ","); got != cols {
			t.Errorf("%s: columns %s, want %s", tc.score, got, cols)
		}
		if len(recs) != 1+5 {
			t.Fatalf("%s: %d rows, want 5 (2 Euler, 2 DDIM, 1 adaptive ODE)", tc.score, len(recs)-1)
		}
		if r := recs[1]; r[0] != "ode solver=euler" || r[1] != "t" || r[2] != "5" || r[3] != "5" || r[4] != "false" {
			t.Errorf("%s: first row %v", tc.score, r)
		}
		if r := recs[5]; r[0] != "ode" || r[1] != "-" || r[2] != "" {
			t.Errorf("%s: adaptive ODE row %v: want schedule - and no steps", tc.score, r)
		}
		for _, r := range recs[1:] {
			if v, err := strconv.ParseFloat(r[5], 64); err != nil || !(v > 0) {
				t.Errorf("%s: row %v: path_err %q", tc.score, r, r[5])
			}
			if (r[8] == "") != tc.kl {
				t.Errorf("%s: row %v: weight_err %q", tc.score, r, r[8])
			}
		}
		img, err := png.Decode(bytes.NewReader(readFile(t, pic)))
		if err != nil {
			t.Fatal(err)
		}
		if s := img.Bounds().Size(); s.X != 640 || s.Y != 480 {
			t.Errorf("%s is %dx%d, want 640x480", pic, s.X, s.Y)
		}
	}
	noStrayFiles(t, dir, "gmm8.csv", "gmm8.png", "gaus.csv", "gaus.png")
}

// TestStudyBadInputs: each refusal is one line with exit 2 (or 1 for a
// missing folder, as for every other output), nothing on stdout, no file
// left; the outputs are checked before any work.
func TestStudyBadInputs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ord := func(extra ...string) []string {
		return append([]string{"order", "-score", "gauss:2", "-n", "4", "-steps-list", "4,8"}, extra...)
	}
	fr := func(extra ...string) []string {
		return append([]string{"frontier", "-n", "8", "-steps-list", "4"}, extra...)
	}
	// The registered samplers (other files may add to the built-in five).
	names := strings.Join(sample.Names(), ", ")
	cases := []struct {
		name string
		args []string
		code int
		line string
	}{
		{"strong order on streams", ord("-sampler", "em", "-noise", "streams"), 2,
			"sdesample order: -sampler em is stochastic: its strong order compares runs with different steps on one Brownian path, which -noise streams does not give (its draws do not depend on the interval); use -noise tree, or leave -noise empty for it"},
		{"order of the adaptive SDE solver", ord("-sampler", "adaptive-sde"), 2,
			"sdesample order: -sampler adaptive-sde has no -steps (it chooses its own steps); order measures fixed-step samplers"},
		{"order of the adaptive ODE", ord("-sampler", "ode"), 2,
			"sdesample order: -sampler ode gives the same sample at 4 and 8 steps: it chooses its own steps (an adaptive solver); order measures fixed-step samplers"},
		{"order on gmm8", ord("-sampler", "ode", "-solver", "euler", "-score", "gmm8"), 2,
			"sdesample order: -score gmm8: the order compares with the exact probability-flow map, known in closed form for one Gaussian; use gauss:D (for example gauss:16)"},
		{"order with -steps", ord("-sampler", "ode", "-solver", "euler", "-steps", "10"), 2,
			"sdesample order: -steps: order runs every count of -steps-list; remove -steps"},
		{"order with one count", ord("-sampler", "ode", "-solver", "euler", "-steps-list", "10"), 2,
			"sdesample order: -steps-list 10: the order is a slope; give at least two step counts (for example 10,20,40,80,160)"},
		{"order with a bad count", ord("-sampler", "ode", "-solver", "euler", "-steps-list", "10,x"), 2,
			`sdesample order: -steps-list 10,x: "x" is not a step count >= 1; give comma-separated counts (for example 10,20,40)`},
		{"order of ddim on ve", ord("-sampler", "ddim", "-sde", "ve"), 2,
			"sdesample order: the ddim sampler cannot run on the ve SDE; it needs a VP SDE (DDPM is the discretised VP SDE: sde.BetaGrid); use another sampler for sub-VP, VE and EDM"},
		{"order of a refused step count", ord("-sampler", "ddim", "-ddpm-steps", "30", "-steps-list", "20,40"), 2,
			"sdesample order: at 40 steps: -steps 40: more than the 30 levels of the DDPM schedule; use steps <= ddpm-steps"},
		{"frontier spec without =", fr("-samplers", "em;ode solver"), 2,
			`sdesample frontier: -samplers: sampler spec "ode solver": "solver" is not name=value`},
		{"frontier empty spec", fr("-samplers", "em;;ode"), 2,
			"sdesample frontier: -samplers: empty sampler spec; use a sampler name (" + names + ") and its options as name=value"},
		{"frontier unknown sampler", fr("-samplers", "em;heun"), 2,
			`sdesample frontier: -samplers: "heun": unknown sampler "heun"; use ` + names},
		{"frontier bad option value", fr("-samplers", "ode solver=nosuch"), 2,
			`sdesample frontier: -samplers: "ode solver=nosuch" at 4 steps: option solver: ode: unknown tableau "nosuch" (want euler, heun, midpoint, rk4, bosh3, dopri5, tsit5 or dop853)`},
		{"frontier option of another sampler", fr("-samplers", "em eta=1"), 2,
			`sdesample frontier: -samplers: "em eta=1": option eta: does not apply to sampler em (its options are steps, denoise, reference-dt, schedule, rho)`},
		{"frontier bad steps in a spec", fr("-samplers", "em steps=x"), 2,
			`sdesample frontier: -samplers: "em steps=x": option steps: "x" is not an integer`},
		{"frontier unsupported SDE", fr("-sde", "ve", "-samplers", "ddim"), 2,
			`sdesample frontier: -samplers: "ddim" at 4 steps: the ddim sampler cannot run on the ve SDE; it needs a VP SDE (DDPM is the discretised VP SDE: sde.BetaGrid); use another sampler for sub-VP, VE and EDM`},
		{"frontier unknown score", fr("-score", "gmm9"), 2,
			`sdesample frontier: -score "gmm9": unknown score; use gmm8, gauss:D (for example gauss:64), mixture:FILE.json or a MODEL.ckpt file`},
		{"frontier output format", fr("-o", "t.npy"), 2,
			"sdesample frontier: -o t.npy: the frontier table is written as .csv"},
		{"frontier plot format", fr("-plot", "p.gif"), 2,
			"sdesample frontier: -plot p.gif: unknown picture format; use .png or .svg"},
		{"frontier output in a missing folder", fr("-o", "nodir/t.csv"), 1,
			"sdesample frontier: -o nodir/t.csv: cannot create: folder nodir does not exist (create it first)"},
		{"frontier plot in a missing folder, checked first", fr("-o", "t.csv", "-plot", "nodir/p.png"), 1,
			"sdesample frontier: -plot nodir/p.png: cannot create: folder nodir does not exist (create it first)"},
		{"frontier n 1", fr("-n", "1"), 2,
			"sdesample frontier: -n 1: the sample metrics need at least 2 rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := cli(t, context.Background(), c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			if got := strings.TrimSuffix(errs, "\n"); got != c.line {
				t.Errorf("stderr\n got %q\nwant %q", got, c.line)
			}
			if strings.Count(errs, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", errs)
			}
			if out != "" {
				t.Errorf("stdout on failure: %q", out)
			}
			noStrayFiles(t, dir)
		})
	}
}

// TestFrontierInterrupt: a cancelled run exits 130 and leaves no file.
func TestFrontierInterrupt(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, errs := cli(t, ctx, "frontier", "-n", "8", "-steps-list", "4", "-o", filepath.Join(dir, "t.csv"), "-plot", filepath.Join(dir, "p.png"))
	if code != 130 || errs != "sdesample frontier: interrupted; no output written\n" {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	noStrayFiles(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "t.csv")); err == nil {
		t.Error("t.csv written")
	}
}

// TestFrontierProgress: on a terminal a bar counts the runs (three: the
// adaptive ODE runs once whatever the step counts).
func TestFrontierProgress(t *testing.T) {
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	defer func() { isTerminal = old }()
	code, _, errs := cli(t, context.Background(), "frontier", "-samplers", "ode solver=euler;ode", "-steps-list", "4,8", "-n", "8")
	if code != 0 || !strings.Contains(errs, "frontier") || !strings.Contains(errs, "3/3") {
		t.Fatalf("exit %d, no progress bar of 3 runs on the terminal: %q", code, errs)
	}
}
