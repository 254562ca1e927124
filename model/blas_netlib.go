//go:build netlib

package model

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// With the netlib build tag, the networks (and every other gonum user in the
// program) run on a C BLAS through cgo, e.g. Debian's OpenBLAS:
//
//	apt-get install libopenblas-dev
//	CGO_LDFLAGS=-lopenblas go test -tags netlib ./model/
func init() {
	blas64.Use(netlib.Implementation{})
	blas32.Use(netlib.Implementation{})
}
