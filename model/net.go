package model

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Net is a network f(x, t) from Dim inputs and a time to Dim outputs,
// evaluated on a batch of n = len(t) rows: what sampling and likelihoods
// need. x and the outputs are n x Dim, row-major. A Net keeps a workspace and
// is not safe for concurrent use; give each goroutine its own Clone.
type Net interface {
	// Dim returns the data dimension D (inputs and outputs per row).
	Dim() int
	// Forward writes f(x_i, t_i) for the n = len(t) rows of x (n*Dim values)
	// into dst (n*Dim); dst may be x.
	Forward(dst, x, t []float64)
	// InputVJP writes v_i^T (d f/d x)(x_i, t_i) for each row into dst (n*Dim);
	// v is n*Dim. dst may be x but must not overlap v.
	InputVJP(dst, v, x, t []float64)
	// Clone returns a deep copy with its own workspace. The clone of a
	// Trainable is a Trainable (zero gradients, no workers); see
	// CloneTrainable.
	Clone() Net
}

// ForwardVJPer is an optional extension of a Net, for speed: ForwardVJP
// writes f(x_i, t_i) into out and v_i^T (d f/d x)(x_i, t_i) into vjp for
// every row in one forward pass, what Forward and InputVJP give in two (the
// probability-flow likelihood needs both at every evaluation). out and vjp
// are n*Dim and must not overlap each other, v or x.
type ForwardVJPer interface {
	ForwardVJP(out, vjp, v, x, t []float64)
}

// ForwardTracer is an optional extension of a Net, for exact likelihoods:
// ForwardTrace writes f(x_i, t_i) into out (n*Dim) and the trace of the
// input Jacobian, tr (d f/d x)(x_i, t_i), into tr (n) for every row, from one
// forward pass and Dim backward ones (the sum over j of e_j^T (d f/d x) e_j,
// what Dim InputVJP calls with unit vectors give).
type ForwardTracer interface {
	ForwardTrace(out, tr, x, t []float64)
}

// Trainable is a Net with parameters, their gradients and what a checkpoint
// needs to rebuild it. One training step is
//
//	net.ZeroGrad()
//	net.ForwardTrain(out, x, t)
//	// ... dOut = dLoss/dout, computed by the caller ...
//	net.Backward(dOut)
//	opt.Step(net) // Adam: reads Grads, writes Params, calls SyncParams
//	ema.Update(net)
//
// The parameters are float64 whatever arithmetic the network uses inside
// (MLP32 keeps a float64 master copy that the optimiser updates and rounds
// to float32 in SyncParams), so optimiser state, EMA and checkpoints are
// the same for every network.
//
// A new architecture implements Trainable and registers a builder under its
// Kind (Register); checkpoints then save and rebuild it, and the score
// package trains and samples with it, without changes elsewhere.
type Trainable interface {
	Net
	// Kind names the architecture in checkpoints ("mlp"); Register makes
	// Build rebuild networks of this kind.
	Kind() string
	// MarshalConfig returns the JSON of everything but the parameters and
	// buffers that the builder registered for Kind needs to rebuild the
	// network: Build(Kind(), MarshalConfig(), Params(), Buffers()) computes
	// what the network computes, bit for bit.
	MarshalConfig() ([]byte, error)
	// NumParams returns len(Params()).
	NumParams() int
	// Params returns the flat parameter vector (a view, not a copy). The
	// layout is the architecture's own (MLP: see its doc).
	Params() []float64
	// SyncParams must be called after writing to Params.
	SyncParams()
	// Grads returns the flat gradient vector (a view), laid out as Params.
	Grads() []float64
	// ZeroGrad sets Grads to zero.
	ZeroGrad()
	// ForwardTrain is Forward that keeps the activations for Backward.
	ForwardTrain(dst, x, t []float64)
	// Backward adds the gradient of the loss with respect to the parameters
	// to Grads, given dOut = dLoss/d out (n*Dim) for the batch of the last
	// ForwardTrain. Forward or InputVJP in between invalidate it (panic).
	Backward(dOut []float64)
	// Buffers returns the fixed, untrained values the network keeps (the
	// MLP's Fourier frequencies W), or nil; a checkpoint stores them.
	Buffers() []float64
	// SetWorkers makes the products use n goroutines (n <= 1: only the
	// caller's). Results must not depend on n; a network without parallel
	// kernels may ignore it.
	SetWorkers(n int)
	// Workers returns the number set by SetWorkers (1 by default).
	Workers() int
}

// CloneTrainable returns t.Clone() as a Trainable. It panics if the clone
// is not one, which breaks the contract of Trainable's Clone.
func CloneTrainable(t Trainable) Trainable {
	c, ok := t.Clone().(Trainable)
	if !ok {
		panic(fmt.Sprintf("model: Clone of the %T network of kind %q returned %T, not a Trainable; make Clone return the same type", t, t.Kind(), t.Clone()))
	}
	return c
}

// Builder rebuilds a network of one kind from the JSON of its
// MarshalConfig, its parameters and its buffers (layouts of Params and
// Buffers). It must copy params and buffers, and return an error that says
// what is wrong when the config is invalid or the lengths do not match it.
type Builder func(config []byte, params, buffers []float64) (Trainable, error)

var registry struct {
	sync.RWMutex
	builders map[string]Builder
}

// Register makes Build (and so checkpoints) rebuild networks of the given
// kind with build. Call it from an init function of the package that
// defines the architecture. It panics if kind is empty or has white space,
// build is nil, or the kind is already registered.
func Register(kind string, build Builder) {
	if kind == "" || strings.ContainsFunc(kind, func(r rune) bool { return r <= ' ' }) {
		panic(fmt.Sprintf("model: Register: kind %q must be a non-empty name without white space", kind))
	}
	if build == nil {
		panic("model: Register(" + kind + "): nil builder")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.builders[kind]; dup {
		panic("model: Register: network kind " + kind + " is already registered")
	}
	if registry.builders == nil {
		registry.builders = map[string]Builder{}
	}
	registry.builders[kind] = build
}

// Kinds returns the registered network kinds, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	ks := make([]string, 0, len(registry.builders))
	for k := range registry.builders {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func builder(kind string) (Builder, error) {
	registry.RLock()
	b, ok := registry.builders[kind]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("network kind %q is not registered (this program knows %s); import the package that defines it, which calls model.Register(%q, ...)",
			kind, strings.Join(Kinds(), ", "), kind)
	}
	return b, nil
}

// Build rebuilds a network of a registered kind from its config JSON,
// parameters and buffers (copied). The result's Kind is kind, and its
// Params and Buffers have the given lengths.
func Build(kind string, config []byte, params, buffers []float64) (Trainable, error) {
	b, err := builder(kind)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	net, err := b(config, params, buffers)
	if err != nil {
		return nil, err
	}
	if net == nil {
		return nil, fmt.Errorf("model: the builder of kind %q returned no network and no error", kind)
	}
	switch {
	case net.Kind() != kind:
		return nil, fmt.Errorf("model: the builder of kind %q returned a network of kind %q", kind, net.Kind())
	case len(net.Params()) != len(params):
		return nil, fmt.Errorf("model: the builder of kind %q returned %d parameters for %d given", kind, len(net.Params()), len(params))
	case len(net.Buffers()) != len(buffers):
		return nil, fmt.Errorf("model: the builder of kind %q returned %d buffers for %d given", kind, len(net.Buffers()), len(buffers))
	}
	return net, nil
}
