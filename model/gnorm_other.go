//go:build !amd64 || purego

package model

func gnStats32(x *float32, rows, c int, s, q *float32)                  { panic("unreachable") }
func gnScale32(z, x, a *float32, rows, c int)                           { panic("unreachable") }
func gnBack32(x, s, dy, d, a, b *float32, rows, c int, s1, s2 *float32) { panic("unreachable") }
func gnDx32(dx, dz, x, p, q, m, r *float32, rows, c, add int)           { panic("unreachable") }

func colSum32(x *float32, rows, c int, s *float32) { panic("unreachable") }
