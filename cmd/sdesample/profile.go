package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the whole run to the file named by
// the environment variable SDESAMPLE_CPUPROFILE, when it is set: how
// docs/bench.md finds where a command's time goes
// (go tool pprof -top sdesample FILE). The returned function stops it.
func startProfile(stderr io.Writer) func() {
	path := os.Getenv("SDESAMPLE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "sdesample: SDESAMPLE_CPUPROFILE=%s: %v (profiling off)\n", path, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "sdesample: SDESAMPLE_CPUPROFILE=%s: %v (profiling off)\n", path, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
