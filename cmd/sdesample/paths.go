package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/sdekit/sdekit/data"
)

// A command checks every file it will write before any work (issue 22):
// the folder exists and takes a file, the path is not a folder, and no
// output is one of the command's inputs or another of its outputs, so a
// run can neither fail at its end on a typo nor replace its own data.

// ioPath is a file a command reads or writes, by the flag that names it.
type ioPath struct{ flag, path string }

// checkPaths checks outs (empty paths skipped) against the inputs ins and
// each other, and that each can be created where it is asked.
func checkPaths(outs, ins []ioPath) error {
	var seen []ioPath
	for _, o := range outs {
		if o.path == "" {
			continue
		}
		if err := checkNotFolder(o.flag, o.path); err != nil {
			return err
		}
		for _, in := range ins {
			if in.path != "" && sameFile(o.path, in.path) {
				return usagef("-%s %s is also the input -%s: the run would replace it; write to another file", o.flag, o.path, in.flag)
			}
		}
		for _, p := range seen {
			if sameFile(o.path, p.path) {
				return usagef("-%s %s is also -%s: give each output its own file", o.flag, o.path, p.flag)
			}
		}
		seen = append(seen, o)
		f, err := data.CreateAtomic(o.path)
		if err != nil {
			return dataErr(o.flag, err)
		}
		f.Abort()
	}
	return nil
}

// checkNotFolder refuses a path that names a folder ("out/" or an existing
// folder), with a message that says so rather than "unknown extension".
func checkNotFolder(flagName, path string) error {
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(os.PathSeparator)) {
		return usagef("-%s %s is a folder; give a file name in it", flagName, path)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("-%s %s is a folder; give a file name in it", flagName, path)
	}
	return nil
}

// sameFile reports whether a and b name one file: the same file on disk
// when both exist, else the same absolute path.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// scoreInputs returns the files a score was read from as inputs of -score.
func scoreInputs(p *problem) []ioPath {
	var ins []ioPath
	for _, f := range p.Inputs {
		ins = append(ins, ioPath{"score", f})
	}
	if p.Classifier != "" {
		ins = append(ins, ioPath{"classifier", p.Classifier})
	}
	return ins
}

// addScoreInputs records the digests of the files a score was read from.
func addScoreInputs(rec *Record, p *problem) {
	for _, in := range p.Inputs {
		rec.addInput("score", in)
	}
	if p.Classifier != "" {
		rec.addInput("classifier", p.Classifier)
	}
}
