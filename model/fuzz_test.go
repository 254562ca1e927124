package model

import (
	"testing"
)

// A checkpoint file's bytes, whatever they are, decode to a checkpoint or
// an error, never a panic (seeds: a valid checkpoint, cut and with flipped
// bytes; the decoder checks magic, version, length, checksum and
// consistency). A decoded checkpoint re-encodes. CI fuzzes it briefly:
//
//	go test -run '^$' -fuzz '^FuzzCheckpoint$' -fuzztime 10s ./model
func FuzzCheckpoint(f *testing.F) {
	net, err := NewTrainable(Config{Dim: 2, Hidden: []int{3}, Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	ck, err := NewCheckpoint(net, 7, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	good, err := ck.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, n := range []int{0, 4, 16, len(good) / 2, len(good) - 1} {
		f.Add(good[:n])
	}
	for _, i := range []int{0, 8, 20, len(good) / 2, len(good) - 1} {
		b := append([]byte(nil), good...)
		b[i] ^= 0x5a
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ck Checkpoint
		if err := ck.UnmarshalBinary(b); err != nil {
			return
		}
		if _, err := ck.MarshalBinary(); err != nil {
			t.Fatalf("a decoded checkpoint does not encode: %v", err)
		}
	})
}
