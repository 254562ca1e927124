//go:build amd64 && !purego

package vmath

// expAVX2 sets dst[i] = e^x[i] for i < n; n must be a multiple of 4.
//
//go:noescape
func expAVX2(dst, x *float64, n int, tab *expTable)
