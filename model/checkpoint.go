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
	"strings"
)

// Checkpoint file format, version 2 (all integers little-endian):
//
//	offset 0   8 bytes   magic "SDEKITCK"
//	       8   uint32    format version (2)
//	      12   uint32    H, length of the JSON header
//	      16   H bytes   JSON header: network kind and config, array lengths,
//	                     step, Adam and EMA hyperparameters and counters, meta
//	           float64s  params, buffers, Adam M, Adam V, EMA shadow (IEEE bits)
//	           bytes     RNG state
//	           32 bytes  SHA-256 of everything above
//
// Version 1 is the same without "kind" in the header: its "config" is an
// MLP's Config, and it loads as kind "mlp".
const (
	checkpointMagic   = "SDEKITCK"
	CheckpointVersion = 2 // the format version SaveCheckpoint writes
	ckVersionMLP      = 1 // the version before network kinds: always an MLP
	ckPrefix          = 16
	ckSumLen          = sha256.Size
)

// Checkpoint is everything needed to rebuild a network and, optionally, to
// resume its training exactly: optimiser state, EMA, step and the state of the
// trainer's random generator (for instance rand.PCG.MarshalBinary). Save and
// load round-trip every field bit for bit (nil and empty slices and maps
// both load as nil).
//
// The network is stored as its Kind, the JSON of its MarshalConfig, its
// parameters and its buffers; Net and the other rebuilding methods hand
// them to the Builder registered for the kind (Register), so a checkpoint
// holds any architecture and knows none.
type Checkpoint struct {
	Kind    string          // the network's kind, Trainable.Kind ("mlp")
	Config  json.RawMessage // the network's config, compact JSON of Trainable.MarshalConfig
	Params  []float64       // flat parameters, layout of Trainable.Params
	Buffers []float64       // fixed values (Fourier frequencies), Trainable.Buffers
	Step    int             // training steps taken
	Adam    *Adam           // optional optimiser hyperparameters and state
	EMA     *EMA            // optional EMA of Params
	RNG     []byte          // optional opaque generator state
	Meta    map[string]string
}

// Saveable is what a checkpoint stores of a network: every Trainable, and
// the Classifier.
type Saveable interface {
	Kind() string
	MarshalConfig() ([]byte, error)
	Params() []float64
	Buffers() []float64
}

// NewCheckpoint returns a checkpoint holding net's kind and config and
// copies of its parameters and buffers and of opt and ema (either may be
// nil). It fails if net's MarshalConfig does, or does not return JSON.
func NewCheckpoint(net Saveable, step int, opt *Adam, ema *EMA) (*Checkpoint, error) {
	cfg, err := net.MarshalConfig()
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint: the %s network's config: %w", net.Kind(), err)
	}
	// Marshalling the raw JSON compacts it as the header will, so the
	// checkpoint loads back with the same bytes.
	if cfg, err = json.Marshal(json.RawMessage(cfg)); err != nil {
		return nil, fmt.Errorf("model: checkpoint: the %s network's config is not JSON: %w", net.Kind(), err)
	}
	return &Checkpoint{
		Kind:    net.Kind(),
		Config:  cfg,
		Params:  append([]float64(nil), net.Params()...),
		Buffers: append([]float64(nil), net.Buffers()...),
		Step:    step,
		Adam:    opt.clone(),
		EMA:     ema.clone(),
	}, nil
}

// Net rebuilds the network with the checkpoint's parameters, by the Builder
// registered for its Kind. (To load an MLP's weights in the other
// precision, pass the result to MLPWithPrecision.)
func (ck *Checkpoint) Net() (Trainable, error) {
	return ck.build(ck.Params)
}

func (ck *Checkpoint) build(params []float64) (Trainable, error) {
	if err := ck.validate(); err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", err)
	}
	if ck.Kind == KindClassifier {
		return nil, errors.New("model: checkpoint: it holds a classifier (kind " + KindClassifier + "), not a score network; give it where a classifier is expected (sdesample sample -classifier, classify -model)")
	}
	if IsAutoencoderKind(ck.Kind) {
		return nil, fmt.Errorf(autoencoderNotScore, ck.Kind)
	}
	net, err := Build(ck.Kind, ck.Config, params, ck.Buffers)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", trimModel(err))
	}
	return net, nil
}

// trimModel drops the "model: " of an error that is wrapped in another.
func trimModel(err error) error {
	if msg, ok := strings.CutPrefix(err.Error(), "model: "); ok {
		return errors.New(msg)
	}
	return err
}

// EMANet rebuilds the network with the EMA weights; it is an error if the
// checkpoint has no EMA.
func (ck *Checkpoint) EMANet() (Trainable, error) {
	if ck.EMA == nil {
		return nil, errors.New("model: checkpoint: no EMA weights")
	}
	return ck.build(ck.EMA.Shadow)
}

// Classifier rebuilds the classifier a checkpoint of kind KindClassifier
// holds, with the EMA weights when it has them (as InferenceNet). A score
// network's checkpoint is an error that says so.
func (ck *Checkpoint) Classifier() (*Classifier, error) {
	if err := ck.validate(); err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", err)
	}
	if IsAutoencoderKind(ck.Kind) {
		return nil, fmt.Errorf("model: checkpoint: it holds an autoencoder (kind %s), not a classifier; train one with sdesample train-classifier (model.NewClassifier)", ck.Kind)
	}
	if ck.Kind != KindClassifier {
		return nil, fmt.Errorf("model: checkpoint: it holds a score network (kind %s), not a classifier; train one with sdesample train-classifier (model.NewClassifier)", ck.Kind)
	}
	params := ck.Params
	if ck.EMA != nil {
		params = ck.EMA.Shadow
	}
	c, err := BuildClassifier(ck.Config, params, ck.Buffers)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", trimModel(err))
	}
	return c, nil
}

// autoencoderNotScore is the error of Net and InferenceNet on an
// autoencoder's checkpoint (a format of its kind).
const autoencoderNotScore = "model: checkpoint: it holds an autoencoder (kind %s), not a score network; give it to sdesample train -latent (Checkpoint.Autoencoder)"

// Autoencoder rebuilds the autoencoder a checkpoint of kind
// KindAutoencoder or KindConvAutoencoder holds (with the EMA weights when
// it has them). Any other checkpoint is an error that says what it holds.
func (ck *Checkpoint) Autoencoder() (*Autoencoder, error) {
	if err := ck.validate(); err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", err)
	}
	switch ck.Kind {
	case KindAutoencoder, KindConvAutoencoder:
	case KindClassifier:
		return nil, errors.New("model: checkpoint: it holds a classifier (kind " + KindClassifier + "), not an autoencoder; train one with sdesample autoencoder (model.NewAutoencoder)")
	default:
		return nil, fmt.Errorf("model: checkpoint: it holds a score network (kind %s), not an autoencoder; train one with sdesample autoencoder (model.NewAutoencoder)", ck.Kind)
	}
	params := ck.Params
	if ck.EMA != nil {
		params = ck.EMA.Shadow
	}
	a, err := buildAutoencoderKind(ck.Kind, ck.Config, params, ck.Buffers)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", trimModel(err))
	}
	return a, nil
}

// InferenceNet returns the network to sample with: EMA weights when the
// checkpoint has them, the raw parameters otherwise.
func (ck *Checkpoint) InferenceNet() (Trainable, error) {
	if ck.EMA != nil {
		return ck.EMANet()
	}
	return ck.Net()
}

// validate checks that the fields are consistent with one another; check
// also that they make a network.
func (ck *Checkpoint) validate() error {
	if ck.Kind == "" {
		return errors.New("no network kind; build the checkpoint with NewCheckpoint")
	}
	if !json.Valid(ck.Config) {
		return fmt.Errorf("the %s network's config is not JSON", ck.Kind)
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

// check is validate, and for a registered kind, that the builder accepts the
// config, parameters and buffers. A checkpoint of a kind this program does
// not know still saves and loads; Net then says what to import.
func (ck *Checkpoint) check() error {
	if err := ck.validate(); err != nil {
		return err
	}
	if ck.Kind == KindClassifier {
		if _, err := BuildClassifier(ck.Config, ck.Params, ck.Buffers); err != nil {
			return trimModel(err)
		}
		return nil
	}
	if IsAutoencoderKind(ck.Kind) {
		if _, err := buildAutoencoderKind(ck.Kind, ck.Config, ck.Params, ck.Buffers); err != nil {
			return trimModel(err)
		}
		return nil
	}
	b, err := builder(ck.Kind)
	if err != nil {
		return nil
	}
	if _, err := b(ck.Config, ck.Params, ck.Buffers); err != nil {
		return trimModel(err)
	}
	return nil
}

type ckHeader struct {
	Kind    string            `json:"kind,omitempty"` // absent in version 1
	Config  json.RawMessage   `json:"config"`
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
	if err := ck.check(); err != nil {
		return nil, err
	}
	h := ckHeader{
		Kind:    ck.Kind,
		Config:  ck.Config,
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
	version := binary.LittleEndian.Uint32(data[8:])
	if version != CheckpointVersion && version != ckVersionMLP {
		return fmt.Errorf("format version %d not supported (this build reads versions %d and %d)", version, ckVersionMLP, CheckpointVersion)
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
	switch {
	case version == ckVersionMLP && h.Kind != "":
		if !checksumOK() {
			return errors.New("corrupt: checksum mismatch")
		}
		return fmt.Errorf("bad header: a network kind (%q) in a version %d checkpoint", h.Kind, version)
	case version == ckVersionMLP:
		h.Kind = KindMLP
	case h.Kind == "":
		if !checksumOK() {
			return errors.New("corrupt: checksum mismatch")
		}
		return errors.New("bad header: no network kind")
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
	out := Checkpoint{Kind: h.Kind, Config: h.Config, Step: h.Step, Meta: h.Meta}
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
	if err := out.check(); err != nil {
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
