package vmath

import "math"

// ShiftCut sets l[i] = l[i] - m[i] where that difference is above cut, and
// -Inf elsewhere (also where it is NaN), for i < len(l): the log-weights of
// a softmax shifted by their maximum, with negligible terms marked so that
// Exp makes them exactly 0. m must be at least as long as l.
func ShiftCut(l, m []float64, cut float64) {
	n := len(l)
	if len(m) < n {
		panic("vmath: ShiftCut: m is shorter than l")
	}
	i := 0
	if haveAVX2FMA && n >= 4 {
		i = n &^ 3
		shiftCutAVX2(&l[0], &m[0], i, cut)
	}
	shiftCutGo(l[i:], m[i:n], cut)
}

var negInf = math.Inf(-1)

// shiftCutGo is ShiftCut's portable loop (and the kernel's tail).
func shiftCutGo(l, m []float64, cut float64) {
	m = m[:len(l)]
	for i, v := range l {
		e := v - m[i]
		if !(e > cut) {
			e = negInf
		}
		l[i] = e
	}
}
