//go:build !amd64 || purego

package rng

// Without the assembly kernels every pair goes through the scalar definition
// in keyPairs and rowPairs.

func keyStep() int { return 0 }

func keyKernel(dst *float64, k Key, p uint64, n int) { panic("rng: no normal kernel") }

func keysKernel(dst *float64, keys *Key, nk int, p uint64, n, stride int) {
	panic("rng: no normal kernel")
}

func rowKernel(dst *float64, keys *Key, p uint64, n int) { panic("rng: no normal kernel") }

// rowLaneMax: with scalar pairs there is no step to fill, so row lanes only
// cost the scatter; per-key pairs are as fast for any d.
func rowLaneMax() int { return 1 }

// kernelPaths names the code paths this build can run: only the scalar one.
func kernelPaths() []string { return []string{"go"} }

// selectPath is a no-op here; see normal_amd64.go.
func selectPath(name string) (restore func()) { return func() {} }

// Kernel names the code path this build and CPU use (for sdesample version).
func Kernel() string { return "go" }
