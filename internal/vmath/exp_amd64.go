//go:build amd64 && !purego

package vmath

import "golang.org/x/sys/cpu"

// useAVX2 selects expAVX2 (exp_amd64.s), 4 lanes at a time.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expAVX2 sets dst[i] = e^x[i] for i < n; n must be a multiple of 4.
//
//go:noescape
func expAVX2(dst, x *float64, n int, tab *expTable)
