package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/sdekit/sdekit/internal/gemm"
	"github.com/sdekit/sdekit/internal/planar"
	"github.com/sdekit/sdekit/internal/rng"
	"github.com/sdekit/sdekit/internal/vmath"
	"github.com/sdekit/sdekit/model"
)

func init() {
	register("version", "print the module version, commit, Go version and the CPU kernels in use", runVersion)
}

// runVersion prints what a bug report needs: which code, built how, running
// which kernels on this CPU (the kernels give the same bits; their speed
// differs).
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	mod, commit, dirty, tags := "(devel)", "unknown", "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		mod = bi.Main.Path + " " + bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = " (modified)"
				}
			case "-tags":
				tags = s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "sdesample %s\n", mod)
	fmt.Fprintf(stdout, "commit    %s%s\n", commit, dirty)
	fmt.Fprintf(stdout, "go        %s %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if tags != "" {
		fmt.Fprintf(stdout, ", tags %s", tags)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "kernels   normals %s, vector math %s, gmm8 score %s, matrix products %s, network layers %s\n",
		rng.Kernel(), vmath.Kernel(), planar.Kernel(), gemm.Kernel(), model.Kernel())
	return nil
}
