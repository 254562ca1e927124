package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Checkpoint file format, version 1 (all integers little-endian):
//
//	offset 0   8 bytes   magic "SDEKITCK"
//	       8   uint32    format version (1)
//	      12   uint32    H, length of the JSON header
//	      16   H bytes   JSON header: config, array lengths, step, Adam and EMA
//	                     hyperparameters and counters, meta
//	           float64s  params, buffers, Adam M, Adam V, EMA shadow (IEEE bits)
//	           bytes     RNG state
//	           32 bytes  SHA-256 of everything above
const (
	checkpointMagic   = "SDEKITCK"
	CheckpointVersion = 1 // the format version SaveCheckpoint writes
	ckPrefix          = 16
	ckSumLen          = sha256.Size
)

// Checkpoint is everything needed to rebuild a network and, optionally, to
// resume its training exactly: optimiser state, EMA, step and the state of the
// trainer's random generator (for instance rand.PCG.MarshalBinary). Save and
// load round-trip every field bit for bit (nil and empty slices and maps
// both load as nil).
type Checkpoint struct {
	Config  Config
	Params  []float64 // flat parameters, layout of Trainable.Params
	Buffers []float64 // fixed values (Fourier frequencies), Trainable.Buffers
	Step    int       // training steps taken
	Adam    *Adam     // optional optimiser hyperparameters and state
	EMA     *EMA      // optional EMA of Params
	RNG     []byte    // optional opaque generator state
	Meta    map[string]string
}

// NewCheckpoint returns a checkpoint holding copies of net's parameters and
// buffers and of opt and ema (either may be nil).
func NewCheckpoint(net Trainable, step int, opt *Adam, ema *EMA) *Checkpoint {
	return &Checkpoint{
		Config:  net.Config(),
		Params:  append([]float64(nil), net.Params()...),
		Buffers: append([]float64(nil), net.Buffers()...),
		Step:    step,
		Adam:    opt.clone(),
		EMA:     ema.clone(),
	}
}

// Net rebuilds the network with the checkpoint's parameters. Setting
// ck.Config.Precision first gives the same weights in the other precision.
func (ck *Checkpoint) Net() (Trainable, error) {
	if err := ck.validate(); err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", err)
	}
	return newWith(ck.Config.WithDefaults(), ck.Params, ck.Buffers), nil
}

// EMANet rebuilds the network with the EMA weights; it is an error if the
// checkpoint has no EMA.
func (ck *Checkpoint) EMANet() (Trainable, error) {
	if ck.EMA == nil {
		return nil, errors.New("model: checkpoint: no EMA weights")
	}
	if err := ck.validate(); err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", err)
	}
	return newWith(ck.Config.WithDefaults(), ck.EMA.Shadow, ck.Buffers), nil
}

// InferenceNet returns the network to sample with: EMA weights when the
// checkpoint has them, the raw parameters otherwise.
func (ck *Checkpoint) InferenceNet() (Trainable, error) {
	if ck.EMA != nil {
		return ck.EMANet()
	}
	return ck.Net()
}

// validate checks that the fields describe one network consistently.
func (ck *Checkpoint) validate() error {
	cfg := ck.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if np := cfg.NumParams(); len(ck.Params) != np {
		return fmt.Errorf("mismatched: config implies %d parameters, checkpoint holds %d", np, len(ck.Params))
	}
	if nb := cfg.NumBuffers(); len(ck.Buffers) != nb {
		return fmt.Errorf("mismatched: config implies %d buffers, checkpoint holds %d", nb, len(ck.Buffers))
	}
	if a := ck.Adam; a != nil {
		if len(a.M) != len(a.V) || (len(a.M) != 0 && len(a.M) != len(ck.Params)) {
			return fmt.Errorf("mismatched: Adam moments of lengths %d and %d for %d parameters", len(a.M), len(a.V), len(ck.Params))
		}
	}
	if e := ck.EMA; e != nil && len(e.Shadow) != len(ck.Params) {
		return fmt.Errorf("mismatched: EMA of %d parameters for %d", len(e.Shadow), len(ck.Params))
	}
	if ck.Step < 0 {
		return fmt.Errorf("negative step %d", ck.Step)
	}
	return nil
}

type ckHeader struct {
	Config  Config            `json:"config"`
	Params  int               `json:"params"`
	Buffers int               `json:"buffers"`
	Step    int               `json:"step"`
	Adam    *ckAdam           `json:"adam,omitempty"`
	EMA     *ckEMA            `json:"ema,omitempty"`
	RNG     int               `json:"rng_bytes"`
	Meta    map[string]string `json:"meta,omitempty"`
}

type ckAdam struct {
	LR       float64 `json:"lr"`
	Beta1    float64 `json:"beta1"`
	Beta2    float64 `json:"beta2"`
	Eps      float64 `json:"eps"`
	Warmup   int     `json:"warmup"`
	ClipNorm float64 `json:"clip_norm"`
	T        int     `json:"t"`
	Moments  int     `json:"moments"` // length of M and of V
}

type ckEMA struct {
	Decay         float64 `json:"decay"`
	UseNumUpdates bool    `json:"use_num_updates"`
	NumUpdates    int     `json:"num_updates"`
	Shadow        int     `json:"shadow"`
}

// MarshalBinary encodes the checkpoint in the format described above.
func (ck *Checkpoint) MarshalBinary() ([]byte, error) {
	b, err := ck.encode()
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", err)
	}
	return b, nil
}

// UnmarshalBinary decodes a checkpoint, checking its magic, version,
// length, checksum and consistency.
func (ck *Checkpoint) UnmarshalBinary(data []byte) error {
	if err := ck.decode(data); err != nil {
		return fmt.Errorf("model: checkpoint: %w", err)
	}
	return nil
}

func (ck *Checkpoint) encode() ([]byte, error) {
	if err := ck.validate(); err != nil {
		return nil, err
	}
	h := ckHeader{
		Config:  ck.Config.WithDefaults(),
		Params:  len(ck.Params),
		Buffers: len(ck.Buffers),
		Step:    ck.Step,
		RNG:     len(ck.RNG),
		Meta:    ck.Meta,
	}
	var arrays [][]float64
	arrays = append(arrays, ck.Params, ck.Buffers)
	if a := ck.Adam; a != nil {
		h.Adam = &ckAdam{LR: a.LR, Beta1: a.Beta1, Beta2: a.Beta2, Eps: a.Eps, Warmup: a.Warmup,
			ClipNorm: a.ClipNorm, T: a.T, Moments: len(a.M)}
		arrays = append(arrays, a.M, a.V)
	}
	if e := ck.EMA; e != nil {
		h.EMA = &ckEMA{Decay: e.Decay, UseNumUpdates: e.UseNumUpdates, NumUpdates: e.NumUpdates, Shadow: len(e.Shadow)}
		arrays = append(arrays, e.Shadow)
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encoding header: %w", err)
	}
	if uint64(len(hdr)) > math.MaxUint32 {
		return nil, errors.New("header too long")
	}
	size := ckPrefix + len(hdr) + len(ck.RNG) + ckSumLen
	for _, a := range arrays {
		size += 8 * len(a)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, checkpointMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, CheckpointVersion)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(hdr)))
	buf = append(buf, hdr...)
	for _, a := range arrays {
		for _, v := range a {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
	}
	buf = append(buf, ck.RNG...)
	sum := sha256.Sum256(buf)
	return append(buf, sum[:]...), nil
}

func (ck *Checkpoint) decode(data []byte) error {
	if len(data) < len(checkpointMagic) || string(data[:len(checkpointMagic)]) != checkpointMagic {
		if len(data) < len(checkpointMagic) && bytes.HasPrefix([]byte(checkpointMagic), data) {
			return fmt.Errorf("truncated: %d bytes", len(data))
		}
		return errors.New("not an sdekit model checkpoint (bad magic)")
	}
	if len(data) < ckPrefix+ckSumLen {
		return fmt.Errorf("truncated: %d bytes", len(data))
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != CheckpointVersion {
		return fmt.Errorf("format version %d not supported (this build reads version %d)", v, CheckpointVersion)
	}
	hlen := int64(binary.LittleEndian.Uint32(data[12:]))
	if int64(ckPrefix)+hlen+ckSumLen > int64(len(data)) {
		return fmt.Errorf("truncated: header of %d bytes does not fit in %d bytes", hlen, len(data))
	}
	checksumOK := func() bool {
		body := data[:len(data)-ckSumLen]
		sum := sha256.Sum256(body)
		return bytes.Equal(sum[:], data[len(body):])
	}
	var h ckHeader
	dec := json.NewDecoder(bytes.NewReader(data[ckPrefix : ckPrefix+hlen]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		if !checksumOK() {
			return errors.New("corrupt: checksum mismatch")
		}
		return fmt.Errorf("bad header: %w", err)
	}
	// Array lengths, checked against the file size before anything is allocated.
	counts := []int{h.Params, h.Buffers}
	if h.Adam != nil {
		counts = append(counts, h.Adam.Moments, h.Adam.Moments)
	}
	if h.EMA != nil {
		counts = append(counts, h.EMA.Shadow)
	}
	want := int64(ckPrefix) + hlen + ckSumLen
	for _, c := range append(counts, h.RNG) {
		if c < 0 || int64(c) > int64(len(data)) {
			if !checksumOK() {
				return errors.New("corrupt: checksum mismatch")
			}
			return fmt.Errorf("bad header: array length %d", c)
		}
	}
	for _, c := range counts {
		want += 8 * int64(c)
	}
	want += int64(h.RNG)
	switch {
	case int64(len(data)) < want:
		return fmt.Errorf("truncated: %d bytes, header implies %d", len(data), want)
	case int64(len(data)) > want:
		if !checksumOK() {
			return errors.New("corrupt: checksum mismatch")
		}
		return fmt.Errorf("%d bytes of trailing data after %d", int64(len(data))-want, want)
	}
	if !checksumOK() {
		return errors.New("corrupt: checksum mismatch")
	}
	off := ckPrefix + int(hlen)
	next := func(n int) []float64 {
		if n == 0 {
			return nil
		}
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[off:]))
			off += 8
		}
		return a
	}
	out := Checkpoint{Config: h.Config, Step: h.Step, Meta: h.Meta}
	out.Params = next(h.Params)
	out.Buffers = next(h.Buffers)
	if a := h.Adam; a != nil {
		out.Adam = &Adam{LR: a.LR, Beta1: a.Beta1, Beta2: a.Beta2, Eps: a.Eps, Warmup: a.Warmup,
			ClipNorm: a.ClipNorm, T: a.T}
		out.Adam.M = next(a.Moments)
		out.Adam.V = next(a.Moments)
	}
	if e := h.EMA; e != nil {
		out.EMA = &EMA{Decay: e.Decay, UseNumUpdates: e.UseNumUpdates, NumUpdates: e.NumUpdates}
		out.EMA.Shadow = next(e.Shadow)
	}
	if h.RNG > 0 {
		out.RNG = append([]byte(nil), data[off:off+h.RNG]...)
	}
	if len(out.Meta) == 0 {
		out.Meta = nil
	}
	if err := out.validate(); err != nil {
		return err
	}
	*ck = out
	return nil
}

// SaveCheckpoint writes ck to path atomically: it writes a temporary file in
// the same directory, syncs it and renames it over path.
func SaveCheckpoint(path string, ck *Checkpoint) (err error) {
	data, err := ck.encode()
	if err != nil {
		return fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("model: checkpoint %s: %w", path, err)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint. A file that is
// not a checkpoint, truncated, corrupt, of another format version or
// inconsistent gives an error "model: checkpoint PATH: ...".
func LoadCheckpoint(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	var ck Checkpoint
	if err := ck.decode(data); err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	return &ck, nil
}
