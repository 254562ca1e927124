//go:build !amd64 || purego

package vmath

func expAVX2(dst, x *float64, n int, tab *expTable) { panic("unreachable") }
