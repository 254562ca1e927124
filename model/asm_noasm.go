//go:build !amd64 || purego

package model

const useAVX2 = false

func siluRow32AVX2(z, s, a, b *float32, n int) { panic("unreachable") }
func siluRow64AVX2(z, s, a, b *float64, n int) { panic("unreachable") }
func siluGrad32AVX2(d, z, s *float32, n int)   { panic("unreachable") }
func siluGrad64AVX2(d, z, s *float64, n int)   { panic("unreachable") }

func adamAVX2(p, grad, m, v *float64, n int, c *[8]float64) { panic("unreachable") }

// Kernel names the code path this build and CPU use (for sdesample version).
func Kernel() string { return "go" }
