package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/sdekit/sdekit/data"
	"github.com/sdekit/sdekit/model"
	"github.com/sdekit/sdekit/ode"
	"github.com/sdekit/sdekit/score"
	"github.com/sdekit/sdekit/sde"
)

// problem is a resolved -score: the score function and, for the exact
// mixture oracles, the mixture (nil for networks).
type problem struct {
	Spec  string
	SDE   sde.SDE
	Score sde.Score
	Mix   *score.Mixture
	// Inputs are files the score was read from, for the run record.
	Inputs []string
	// Classifier is the classifier checkpoint of classifier guidance
	// (-classifier FILE), an input too.
	Classifier string
	// Latent is the autoencoder of a latent score checkpoint (nil in data
	// space): samples are decoded by it, likelihood data encoded.
	Latent *model.Autoencoder
	// Shape is the image shape (channels, height, width) of the data a
	// data-space network was trained on, zero when the rows are not images.
	Shape [3]int
}

// resolveSDE reads the -sde flag.
func resolveSDE(name string) (sde.SDE, error) {
	s, err := sde.ByName(name)
	if err != nil {
		return nil, usagef("-sde %q: unknown SDE; use one of %s", name, strings.Join(sde.Kinds(), ", "))
	}
	return s, nil
}

// resolveScore reads the -score flag: gmm8, gauss:D, mixture:FILE.json or a
// MODEL.ckpt checkpoint.
func resolveScore(spec string, s sde.SDE) (*problem, error) {
	p := &problem{Spec: spec, SDE: s}
	switch {
	case spec == "":
		return nil, usagef("-score is required: gmm8, gauss:D, mixture:FILE.json or MODEL.ckpt")
	case spec == "gmm8" || strings.HasPrefix(spec, "gauss:"):
		m, err := score.Problem(spec, s)
		if err != nil {
			return nil, usagef("-score %s: the dimension after gauss: must be a whole number from 1 to 1048576 (for example gauss:64)", spec)
		}
		p.Score, p.Mix = m, m
	case strings.HasPrefix(spec, "mixture:"):
		path := strings.TrimPrefix(spec, "mixture:")
		m, err := loadMixture(path, s)
		if err != nil {
			return nil, err
		}
		p.Score, p.Mix, p.Inputs = m, m, []string{path}
	case strings.EqualFold(filepath.Ext(spec), ".ckpt"):
		ln, err := loadNetScore(spec, s)
		if err != nil {
			return nil, err
		}
		p.Score, p.Inputs, p.Shape = ln.score, []string{spec}, ln.shape
		if ln.ae != nil {
			p.Latent, p.Inputs = ln.ae, append(p.Inputs, ln.aePath)
		}
	default:
		return nil, usagef("-score %q: unknown score; use gmm8, gauss:D (for example gauss:64), mixture:FILE.json or a MODEL.ckpt file", spec)
	}
	return p, nil
}

// mixtureFile is the JSON form of a diagonal Gaussian mixture.
type mixtureFile struct {
	Weights []float64   `json:"weights"`
	Means   [][]float64 `json:"means"`
	Stds    [][]float64 `json:"stds"`
}

// loadMixture reads {"weights":[...],"means":[[...]],"stds":[[...]]}.
func loadMixture(path string, s sde.SDE) (*score.Mixture, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-score mixture:%s: %s", path, fsMessage(err))
	}
	return parseMixture(raw, path, s)
}

// parseMixture reads a mixture file's bytes (path names it in errors).
func parseMixture(raw []byte, path string, s sde.SDE) (*score.Mixture, error) {
	var mf mixtureFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mf); err != nil {
		return nil, fmt.Errorf("-score mixture:%s: not a mixture file (%v); want {\"weights\":[...],\"means\":[[...]],\"stds\":[[...]]}", path, err)
	}
	m, err := score.NewMixture(s, mf.Weights, mf.Means, mf.Stds)
	if err != nil {
		return nil, fmt.Errorf("-score mixture:%s: %s", path, strings.TrimPrefix(err.Error(), "score: "))
	}
	return m, nil
}

// loadNetScore turns a checkpoint into a score. The checkpoint is read and
// checked here, so a corrupt file gives its error whatever else is missing.
// A latent model's checkpoint also gives its autoencoder and the path it
// was read from.
// netLoad is what loadNetScore reads from a checkpoint.
type netLoad struct {
	score  sde.Score
	ae     *model.Autoencoder // a latent model's autoencoder, or nil
	aePath string
	shape  [3]int // the image shape of a data-space network's data, or zero
}

func loadNetScore(path string, s sde.SDE) (netLoad, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return netLoad{}, fmt.Errorf("-score %s: %s", path, checkpointMessage(path, err))
	}
	if model.IsAutoencoderKind(ck.Kind) {
		return netLoad{}, usagef("-score %s: it holds an autoencoder, not a score network; train a latent score model on it with sdesample train -latent %s", path, path)
	}
	if ck.Kind == model.KindClassifier {
		return netLoad{}, usagef("-score %s: holds a classifier, not a score network; give it where a classifier is expected (sdesample sample -classifier, classify -model)", path)
	}
	sc, err := netScore(ck, path, s)
	if err != nil {
		return netLoad{}, err
	}
	ae, aePath, err := latentOf(ck, path)
	if err != nil {
		return netLoad{}, err
	}
	ln := netLoad{score: sc, ae: ae, aePath: aePath}
	if ae == nil {
		ln.shape = checkpointShape(ck)
	}
	return ln, nil
}

// checkpointMessage shortens model's "model: checkpoint PATH: ..." errors.
func checkpointMessage(path string, err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file"
	}
	msg := strings.TrimPrefix(err.Error(), "model: checkpoint "+path+": ")
	msg = strings.TrimPrefix(msg, "model: ")
	return msg + "; is it a checkpoint written by sdesample train?"
}

// fsMessage is a short description of a file-system error.
func fsMessage(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// dataErr rewrites a data package error for the user: the flag that named
// the file, then the file, the position and the problem.
func dataErr(flagName string, err error) error {
	var fe *data.FileError
	if errors.As(err, &fe) {
		return fmt.Errorf("-%s %s", flagName, strings.TrimPrefix(fe.Error(), "data: "))
	}
	return fmt.Errorf("-%s: %s", flagName, strings.TrimPrefix(err.Error(), "data: "))
}

// checkEps rejects a time cut-off outside (0, T).
func checkEps(eps float64, s sde.SDE) error {
	if !(eps > 0 && eps < s.T()) || math.IsInf(eps, 0) {
		return usagef("-eps %g: the time cut-off must lie strictly between 0 and T = %g (typical: 1e-3 for vp and subvp, 1e-5 for ve and for likelihoods)", eps, s.T())
	}
	return nil
}

// checkTol rejects a non-positive tolerance.
func checkTol(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return usagef("-%s %g: tolerances must be finite and > 0 (typical 1e-5)", name, v)
	}
	return nil
}

// checkSolver accepts the names of the ODE solvers.
func checkSolver(name string) error {
	switch name {
	case "dopri5", "tsit5", "bosh3", "heun", "euler", "rk4", "dop853", "midpoint":
		return nil
	}
	return usagef("-solver %q: unknown solver; use dopri5, tsit5, bosh3, dop853, heun, euler, rk4 or midpoint", name)
}

// resolveController maps -controller to the ode solver's step-size
// controller.
func resolveController(name string) (ode.PID, error) {
	pid, err := ode.ControllerByName(name)
	if err != nil {
		return pid, usagef("-controller %q: unknown step-size controller; use i, pi3040, pi4020 or dopri5", name)
	}
	return pid, nil
}

// resolveWorkers maps -workers 0 to the number of cores.
func resolveWorkers(w int) (int, error) {
	if w < 0 {
		return 0, usagef("-workers %d: use 0 (all cores) or a positive number", w)
	}
	if w == 0 {
		return runtime.NumCPU(), nil
	}
	return w, nil
}

// checkBlock rejects a block size below 1.
func checkBlock(b int) error {
	if b < 1 {
		return usagef("-block %d: the block size is a number of rows >= 1 (default 4096)", b)
	}
	return nil
}

// tableFormat returns ".csv" or ".npy" for an output path, or a usage error.
func tableFormat(flagName, path string) (string, error) {
	if path == "" {
		return "", usagef("-%s is required: a .csv or .npy file to write", flagName)
	}
	if err := checkNotFolder(flagName, path); err != nil {
		return "", err
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv", ".npy":
		return ext, nil
	}
	return "", usagef("-%s %s: unknown extension; use .csv or .npy", flagName, path)
}

// checkPlotPath accepts "" or a .png or .svg path.
func checkPlotPath(flagName, path string) error {
	if path == "" {
		return nil
	}
	if err := checkNotFolder(flagName, path); err != nil {
		return err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png", ".svg":
		return nil
	}
	return usagef("-%s %s: unknown picture format; use .png or .svg", flagName, path)
}

// checkCSVOutputs checks the output flags of the commands that write a .csv
// table (-o, what says what it holds), a plot (-plot, -plot-size) and a run
// record (-record), and returns the plot's size in pixels.
func checkCSVOutputs(out, what, plotPath, plotSize, recPath string) (w, h int, err error) {
	switch {
	case out == "":
		return 0, 0, usagef("-o is required: the .csv file to write")
	case checkNotFolder("o", out) != nil:
		return 0, 0, checkNotFolder("o", out)
	case !strings.EqualFold(filepath.Ext(out), ".csv"):
		// one answer, not "use .csv or .npy" and then "not .npy"
		return 0, 0, usagef("-o %s: %s written as .csv; give a .csv file", out, what)
	}
	if err := checkPlotPath("plot", plotPath); err != nil {
		return 0, 0, err
	}
	if w, h, err = parseSize("plot-size", plotSize); err != nil {
		return 0, 0, err
	}
	return w, h, checkRecordPath(recPath)
}

// parseSize reads WxH in pixels.
func parseSize(flagName, s string) (w, h int, err error) {
	a, b, ok := strings.Cut(s, "x")
	if ok {
		w, err = strconv.Atoi(a)
		if err == nil {
			h, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || w < 100 || h < 100 || w > 10000 || h > 10000 {
		return 0, 0, usagef("-%s %q: want WIDTHxHEIGHT in pixels, each from 100 to 10000 (for example 800x600)", flagName, s)
	}
	return w, h, nil
}

// outFile is an output written to a temporary file and renamed into place by
// Commit; it hashes what it writes for the run record.
type outFile struct {
	af   *data.AtomicFile
	hash hash.Hash
	w    io.Writer
}

// createOut starts an output file; a missing folder fails here, before any
// work is done.
func createOut(flagName, path string) (*outFile, error) {
	af, err := data.CreateAtomic(path)
	if err != nil {
		return nil, dataErr(flagName, err)
	}
	h := sha256.New()
	return &outFile{af: af, hash: h, w: io.MultiWriter(af, h)}, nil
}

func (o *outFile) Write(p []byte) (int, error) { return o.w.Write(p) }

// Commit renames the temporary file into place.
func (o *outFile) Commit() error {
	if err := o.af.Commit(); err != nil {
		return dataErr("o", err)
	}
	return nil
}

// Abort removes the temporary file (a no-op after Commit).
func (o *outFile) Abort() { o.af.Abort() }

// Sum is the SHA-256 of everything written, in hex.
func (o *outFile) Sum() string { return hex.EncodeToString(o.hash.Sum(nil)) }

// tableWriter streams rows to CSV or NPY.
type tableWriter interface {
	WriteRows(x []float64) error
}

// newTableWriter returns a CSV or NPY writer of n x d rows on w; finish
// flushes it (and checks the NPY row count).
func newTableWriter(ext string, w io.Writer, n, d int) (tw tableWriter, finish func() error) {
	if ext == ".npy" {
		p := data.NewNPYWriter(w, n, d)
		return p, p.Close
	}
	c := data.NewCSVWriter(w, d)
	return c, c.Flush
}

// fileSHA256 hashes a file for the run record.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// flagValues returns every flag of fs with its value, defaults included, so
// that a record replays the run even if a default changes later.
func flagValues(fs *flag.FlagSet) map[string]string {
	m := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { m[f.Name] = f.Value.String() })
	return m
}

// rowsOf returns the global row indices k0..k1-1 of shard sh in dst.
func rowsOf(dst []int, sh shard, k0, k1 int) []int {
	dst = dst[:0]
	for k := k0; k < k1; k++ {
		dst = append(dst, sh.row(k))
	}
	return dst
}

// checkpointShape returns the image shape of the data a network was trained
// on: a U-Net's own, else what the training metadata's data name declares
// (zero when they are not images).
func checkpointShape(ck *model.Checkpoint) [3]int {
	if ck.Kind == model.KindUNet {
		if uc, err := model.ParseUNetConfig(ck.Config); err == nil {
			return [3]int{uc.Channels, uc.Height, uc.Width}
		}
	}
	meta, err := score.ReadMeta(ck)
	if err != nil {
		return [3]int{}
	}
	if c, h, w, ok := data.ShapeOf(meta.Data); ok {
		return [3]int{c, h, w}
	}
	return [3]int{}
}

// checkCkptOut checks the -o of a command that writes a checkpoint.
func checkCkptOut(out string) error {
	if out == "" || !strings.EqualFold(extOf(out), ".ckpt") {
		return usagef("-o %q: give the checkpoint file to write, ending in .ckpt", out)
	}
	return nil
}

// checkOptimiser checks the -steps, -batch and -lr of a training command;
// typicalLR is the value its error message suggests.
func checkOptimiser(steps, batch int, lr float64, typicalLR string) error {
	switch {
	case steps < 1:
		return usagef("-steps %d: train for at least 1 step", steps)
	case batch < 1:
		return usagef("-batch %d: use at least 1 row per step", batch)
	case !(lr > 0) || math.IsInf(lr, 0):
		return usagef("-lr %g: the learning rate must be finite and > 0 (typical %s)", lr, typicalLR)
	}
	return nil
}
