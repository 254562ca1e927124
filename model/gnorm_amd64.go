//go:build amd64 && !purego

package model

// The float32 GroupNorm kernels of gnorm_amd64.s (AVX2): see unet_gnorm.go
// for what they compute.

//go:noescape
func gnStats32(x *float32, rows, c int, s, q *float32)

//go:noescape
func gnScale32(z, x, a *float32, rows, c int)

//go:noescape
func gnBack32(x, s, dy, d, a, b *float32, rows, c int, s1, s2 *float32)

//go:noescape
func gnDx32(dx, dz, x, p, q, m, r *float32, rows, c, add int)

//go:noescape
func colSum32(x *float32, rows, c int, s *float32)
