//go:build !amd64 || purego

package vmath

const useAVX2 = false

func expAVX2(dst, x *float64, n int, tab *expTable) { panic("unreachable") }
