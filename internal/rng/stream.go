package rng

// NormalStream reads one Key's normals in order: the n-th call of NormFloat64
// returns Key.Normal(n). It is the sequential view of the noise that package
// sample draws in blocks (NormalsRows), for reference code and tests that
// replay a row's noise one value at a time.
type NormalStream struct {
	Key Key
	N   uint64 // normals read so far
}

// NewNormalStream returns the stream of row `row` of run `seed` for purpose p,
// at its start.
func NewNormalStream(seed uint64, row int, p Purpose) *NormalStream {
	return &NormalStream{Key: NewKey(seed, row, p)}
}

// NormFloat64 returns the next normal of the stream.
func (s *NormalStream) NormFloat64() float64 {
	v := s.Key.Normal(s.N)
	s.N++
	return v
}
