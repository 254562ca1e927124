package model_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/sdekit/sdekit/model"
)

// Example trains a small network to output -x (the score of N(0, I)), saves
// a checkpoint with the full training state, and loads back the network with
// the EMA weights, the one to sample with.
func Example() {
	net, err := model.NewTrainable(model.Config{Dim: 2, Hidden: []int{32, 32}, EmbedDim: 16, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	opt := model.NewAdam(1e-2)
	opt.Warmup, opt.ClipNorm = 20, 1
	ema := model.NewEMA(net, 0.99)
	rng := rand.New(rand.NewPCG(1, 2))

	const n = 256
	x, t := make([]float64, n*2), make([]float64, n)
	out, dOut := make([]float64, n*2), make([]float64, n*2)
	loss := func() float64 { // mean over rows of |f(x, t) + x|^2
		var l float64
		for i, o := range out {
			l += (o + x[i]) * (o + x[i]) / n
		}
		return l
	}
	var first, last float64
	for step := 0; step < 300; step++ {
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range t {
			t[i] = rng.Float64()
		}
		net.ZeroGrad()
		net.ForwardTrain(out, x, t)
		for i, o := range out {
			dOut[i] = 2 * (o + x[i]) / n
		}
		net.Backward(dOut)
		if _, err := opt.Step(net); err != nil {
			fmt.Println(err)
			return
		}
		ema.Update(net)
		if step == 0 {
			first = loss()
		}
		last = loss()
	}
	fmt.Println("parameters:", net.NumParams())
	fmt.Println("loss fell more than tenfold:", last < first/10)

	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "score.ckpt")
	ck, err := model.NewCheckpoint(net, 300, opt, ema) // records net.Kind() and net.MarshalConfig()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := model.SaveCheckpoint(path, ck); err != nil {
		fmt.Println(err)
		return
	}
	ck, err = model.LoadCheckpoint(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	inf, err := ck.InferenceNet() // the EMA weights, rebuilt by the builder registered for ck.Kind
	if err != nil {
		fmt.Println(err)
		return
	}
	y := make([]float64, 2)
	inf.Forward(y, []float64{1, -2}, []float64{0.5})
	fmt.Printf("%s network, step %d, f([1 -2], 0.5) = [%.1f %.1f]\n", ck.Kind, ck.Step, y[0], y[1])
	// Output:
	// parameters: 1730
	// loss fell more than tenfold: true
	// mlp network, step 300, f([1 -2], 0.5) = [-1.0 2.0]
}

// ExampleMLPWithPrecision loads a checkpoint's float64 MLP weights into the
// float32 network, as sampling in float32 would, and back.
func ExampleMLPWithPrecision() {
	net, err := model.NewTrainable(model.Config{Dim: 2, Hidden: []int{16}, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	ck, err := model.NewCheckpoint(net, 0, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	inf, err := ck.InferenceNet() // kind "mlp", float64
	if err != nil {
		fmt.Println(err)
		return
	}
	n32, err := model.MLPWithPrecision(inf, model.Float32)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := model.MLPWithPrecision(n32, model.Float64)
	if err != nil {
		fmt.Println(err)
		return
	}
	same := true
	for i, v := range back.Params() {
		same = same && v == net.Params()[i]
	}
	fmt.Printf("%s: %T, back to %T with the same weights: %v\n", ck.Kind, n32, back, same)
	// Output:
	// mlp: *model.MLP32, back to *model.MLP with the same weights: true
}
