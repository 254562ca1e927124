package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sdekit/sdekit/data"
)

// recordFormat is the version of the run-record layout.
const recordFormat = 1

// Record is the JSON run record that -record writes: enough to repeat the
// run bit for bit (`sdesample replay`) and to see what it cost.
type Record struct {
	Format  int    `json:"format"`
	Tool    string `json:"tool"`
	Command string `json:"command"`
	// Args is the command line as given; Flags holds every flag of the
	// command with its value, defaults included. Replay uses Flags.
	Args  []string          `json:"args"`
	Flags map[string]string `json:"flags"`
	Seed  uint64            `json:"seed"`
	// Shard is the resolved shard "i/n" (auto/n is resolved from the
	// scheduler variable named in ShardFrom).
	Shard     string `json:"shard"`
	ShardFrom string `json:"shard_from,omitempty"`

	Module    string `json:"module"`
	Version   string `json:"version"`
	VCS       string `json:"vcs,omitempty"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	Workers   int    `json:"workers"`
	Host      string `json:"host,omitempty"`

	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`

	Output       string        `json:"output"`
	OutputSHA256 string        `json:"output_sha256"`
	Rows         int           `json:"rows"`
	Dim          int           `json:"dim,omitempty"`
	Inputs       []InputDigest `json:"inputs,omitempty"`

	Stats   *RunStats          `json:"stats,omitempty"`
	Summary map[string]float64 `json:"summary,omitempty"`
}

// InputDigest names an input file and its SHA-256, so a replay can tell
// when an input has changed.
type InputDigest struct {
	Flag   string `json:"flag"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// RunStats summarises the per-row work of a run: score evaluations (NFE)
// and, for adaptive solves, step attempts.
type RunStats struct {
	NFETotal    int64   `json:"nfe_total"`
	NFEMean     float64 `json:"nfe_per_row_mean"`
	NFEMin      int     `json:"nfe_per_row_min"`
	NFEMax      int     `json:"nfe_per_row_max"`
	StepsTotal  int64   `json:"steps_total,omitempty"`
	Accepted    int64   `json:"accepted_total,omitempty"`
	Rejected    int64   `json:"rejected_total,omitempty"`
	StepsMean   float64 `json:"steps_per_row_mean,omitempty"`
	RowsCounted int     `json:"rows"`
}

// print writes the line every sampling run ends with: the score
// evaluations per sample (and an adaptive solver's steps).
func (s *RunStats) print(w io.Writer) {
	fmt.Fprintf(w, "score evaluations per sample: mean %.1f (min %d, max %d)", s.NFEMean, s.NFEMin, s.NFEMax)
	if s.StepsTotal > 0 {
		fmt.Fprintf(w, "; steps accepted %.1f, rejected %.1f per sample", float64(s.Accepted)/float64(s.RowsCounted), float64(s.Rejected)/float64(s.RowsCounted))
	}
	fmt.Fprintln(w)
}

// add counts one row.
func (s *RunStats) add(nfe, steps, acc, rej int) {
	if s.RowsCounted == 0 || nfe < s.NFEMin {
		s.NFEMin = nfe
	}
	if nfe > s.NFEMax {
		s.NFEMax = nfe
	}
	s.RowsCounted++
	s.NFETotal += int64(nfe)
	s.StepsTotal += int64(steps)
	s.Accepted += int64(acc)
	s.Rejected += int64(rej)
	s.NFEMean = float64(s.NFETotal) / float64(s.RowsCounted)
	s.StepsMean = float64(s.StepsTotal) / float64(s.RowsCounted)
}

// newRecord fills the parts of a record every command shares.
func newRecord(command string, args []string, flags map[string]string, seed uint64, sh shard, workers int) *Record {
	r := &Record{
		Format: recordFormat, Tool: "sdesample", Command: command,
		Args: append([]string{}, args...), Flags: flags, Seed: seed,
		Shard: sh.String(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), Workers: workers, Started: time.Now().UTC(),
		Module: "github.com/sdekit/sdekit", Version: "(unknown)",
	}
	if sh.From != "flag" {
		r.ShardFrom = sh.From
	}
	if h, err := os.Hostname(); err == nil {
		r.Host = h
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			r.Module = bi.Main.Path
		}
		r.Version = bi.Main.Version
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			r.VCS = rev + dirty
		}
	}
	return r
}

// addInput records the digest of an input file (best effort: an unreadable
// file has already failed elsewhere).
func (r *Record) addInput(flagName, path string) {
	sum, err := fileSHA256(path)
	if err != nil {
		return
	}
	r.Inputs = append(r.Inputs, InputDigest{Flag: flagName, Path: path, SHA256: sum})
}

// finish stamps the wall time and output digest.
func (r *Record) finish(start time.Time, output, sum string, rows, dim int) {
	r.WallSeconds = time.Since(start).Seconds()
	r.Output, r.OutputSHA256, r.Rows, r.Dim = output, sum, rows, dim
}

// writeRecord writes r as indented JSON, atomically.
func writeRecord(path string, r *Record) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("-record %s: %v", path, err)
	}
	f, err := data.CreateAtomic(path)
	if err != nil {
		return dataErr("record", err)
	}
	defer f.Abort()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("-record %s: write failed: %v", path, err)
	}
	if err := f.Commit(); err != nil {
		return dataErr("record", err)
	}
	return nil
}

// checkRecordPath fails early, before any work, if the record could not be
// written (a missing folder).
func checkRecordPath(path string) error {
	if path == "" {
		return nil
	}
	if !strings.EqualFold(filepath.Ext(path), ".json") {
		return usagef("-record %s: a run record is a .json file", path)
	}
	f, err := data.CreateAtomic(path)
	if err != nil {
		return dataErr("record", err)
	}
	return f.Abort()
}

// readRecord loads a run record.
func readRecord(path string) (*Record, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", path, fsMessage(err))
	}
	return parseRecord(raw, path)
}

// parseRecord reads a run record's bytes (path names it in errors).
func parseRecord(raw []byte, path string) (*Record, error) {
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s: not a run record (%v)", path, err)
	}
	if r.Tool != "sdesample" || r.Command == "" || r.Flags == nil {
		return nil, fmt.Errorf("%s: not a run record written by sdesample -record", path)
	}
	if r.Format > recordFormat {
		return nil, fmt.Errorf("%s: record format %d is newer than this sdesample understands (%d); use a newer build", path, r.Format, recordFormat)
	}
	return &r, nil
}

func init() {
	register("replay", "repeat a recorded run (-record run.json) and check its output bit for bit", runReplay)
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", stderr)
	out := fs.String("o", "", "where to write the replayed output (default: the recorded output with .replay before the extension)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample replay [-o out.csv] run.json")
		fmt.Fprintln(fs.Output(), "Repeats the run with every recorded flag, then compares the SHA-256 of the new output with the record.")
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one run record (run.json) after the flags")
	}
	rec, err := readRecord(fs.Arg(0))
	if err != nil {
		return err
	}
	c, ok := commands[rec.Command]
	if !ok || rec.Command == "replay" || rec.Command == "merge" || rec.Command == "bench" {
		return fmt.Errorf("%s: command %q cannot be replayed", fs.Arg(0), rec.Command)
	}
	for _, in := range rec.Inputs {
		sum, err := fileSHA256(in.Path)
		if err != nil {
			return fmt.Errorf("%s: input -%s %s: %s; the replay needs the same input", fs.Arg(0), in.Flag, in.Path, fsMessage(err))
		}
		if sum != in.SHA256 {
			return fmt.Errorf("%s: input -%s %s has changed since the run (sha256 %s, recorded %s); restore it to replay", fs.Arg(0), in.Flag, in.Path, short(sum), short(in.SHA256))
		}
	}
	dst := *out
	if dst == "" {
		ext := filepath.Ext(rec.Output)
		dst = strings.TrimSuffix(rec.Output, ext) + ".replay" + ext
	}
	// The replay must not replace what it is checked against.
	if sameFile(dst, rec.Output) && *out != "" {
		return usagef("-o %s is the recorded run's output; write the replay to another file", dst)
	}
	if sameFile(dst, fs.Arg(0)) {
		return usagef("-o %s is the run record itself; write the replay to another file", dst)
	}
	flags := make(map[string]string, len(rec.Flags))
	for k, v := range rec.Flags {
		flags[k] = v
	}
	flags["o"] = dst
	flags["record"] = ""
	for _, a := range addedOptions {
		if _, has := flags[a.flag]; !has && slices.Contains(a.samplers, flags["sampler"]) {
			flags[a.flag] = a.before
		}
	}
	if _, has := flags["shard"]; has {
		flags["shard"] = rec.Shard // auto/n resolved to the index this run had
	}
	if _, has := flags["plot"]; has {
		flags["plot"] = ""
	}
	if _, has := flags["plot-steps"]; has {
		flags["plot-steps"] = ""
	}
	names := make([]string, 0, len(flags))
	for k := range flags {
		names = append(names, k)
	}
	sort.Strings(names)
	argv := make([]string, 0, len(names))
	for _, k := range names {
		argv = append(argv, "-"+k+"="+flags[k])
	}
	fmt.Fprintf(stdout, "replaying: sdesample %s %s\n", rec.Command, strings.Join(argv, " "))
	var quiet bytes.Buffer
	if err := c.run(ctx, argv, &quiet, stderr); err != nil {
		return err
	}
	sum, err := fileSHA256(dst)
	if err != nil {
		return fmt.Errorf("-o %s: %s", dst, fsMessage(err))
	}
	if sum != rec.OutputSHA256 {
		return fmt.Errorf("%s differs from the recorded output %s (sha256 %s, recorded %s); recorded with %s %s on %s/%s",
			dst, rec.Output, short(sum), short(rec.OutputSHA256), rec.Module, rec.Version, rec.OS, rec.Arch)
	}
	// The comparison is with the recorded digest; say what the recorded
	// file on disk holds now, which may have been replaced since.
	switch disk, err := fileSHA256(rec.Output); {
	case err == nil && disk == rec.OutputSHA256:
		fmt.Fprintf(stdout, "%s reproduces %s bit for bit (sha256 %s)\n", dst, rec.Output, sum)
	case err == nil:
		fmt.Fprintf(stdout, "%s reproduces the recorded output bit for bit (sha256 %s); %s on disk has changed since the run (sha256 %s)\n", dst, sum, rec.Output, short(disk))
	default:
		fmt.Fprintf(stdout, "%s reproduces the recorded output bit for bit (sha256 %s); %s is no longer on disk\n", dst, sum, rec.Output)
	}
	return nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// addedOptions are sampler options added after records were first written
// whose default differs from what the samplers did before: a record without
// the flag replays with the value that reproduces its run.
var addedOptions = []struct {
	flag, before string
	samplers     []string
}{
	// Before eps-marginal, DDPM and DDIM always used the SDE's marginals
	// (the default became the chain's own for exact scores).
	{"eps-marginal", "sde", []string{"ddpm", "ddim"}},
}
