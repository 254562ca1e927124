#!/bin/sh
# Fashion-MNIST end to end (docs/images.md): train a score network on the
# dequantised training images, sample 1000 images with two 20-evaluation
# samplers (NPY and a PNG grid), the test-set bits/dim by the probability
# flow on a subset, the DDPM bound on a subset, the Frechet distance of the
# samples in a classifier's features with its floor, and the per-pixel
# histogram baseline. Needs: apt-get install dataset-fashion-mnist.
#
#   sh scripts/images.sh OUT NAME [train flags]
#
# NAME labels the run's files (OUT/NAME.ckpt, OUT/NAME-dpmpp-2m.png, ...);
# the train flags choose the network and the budget, for example
#   sh scripts/images.sh /tmp/img mlp -hidden 512,512,512 -precision float32 -batch 128 -lr 1e-3 -fourier-scale 1 -steps 15000
# The classifier (OUT/classifier.ckpt) is trained once and reused.
set -eu
out=${1:?usage: sh scripts/images.sh OUT NAME [train flags]}
name=${2:?usage: sh scripts/images.sh OUT NAME [train flags]}
shift 2
mkdir -p "$out"
S="$out/sdesample"
go build -o "$S" ./cmd/sdesample
t() { # t LABEL COMMAND...: run, print the wall time
	label=$1
	shift
	s0=$(date +%s)
	"$@"
	echo "== $label: $(($(date +%s) - s0)) s"
}

# An existing OUT/NAME.ckpt is used as it is (its train record has the time).
[ -f "$out/$name.ckpt" ] || t "train $name" "$S" train -sde vp -data fashion-mnist -dequant uniform "$@" -seed 1 -o "$out/$name.ckpt" -record "$out/$name-train.json"
[ -f "$out/real.png" ] || "$S" data -from fashion-mnist-test -n 64 -o "$out/real.npy" -plot "$out/real.png"
for smp in dpmpp-2m unipc; do
	t "sample $smp" "$S" sample -sde vp -score "$out/$name.ckpt" -sampler "$smp" -steps 20 -n 1000 -seed 1 \
		-o "$out/$name-$smp.npy" -plot "$out/$name-$smp.png"
done
# Test-set bits/dim on 100 images (shard 0/100: test images 0, 100, 200, ...),
# uniform dequantisation, score_sde's convention (offset 7 on [-1, 1]).
t "likelihood" "$S" likelihood -sde vp -score "$out/$name.ckpt" -data fashion-mnist-test -shard 0/100 \
	-data-range -1,1 -bits 8 -dequant uniform -seed 1 -o "$out/$name-likelihood.csv"
t "bound" "$S" bound -sde vp -score "$out/$name.ckpt" -data fashion-mnist-test -n 100 -seed 1 -o "$out/$name-bound.csv"
if [ ! -f "$out/classifier.ckpt" ]; then
	t "classifier" "$S" train-classifier -data fashion-mnist -clean -hidden 256,128 -steps 4000 -batch 128 -seed 1 -o "$out/classifier.ckpt"
	"$S" classify -model "$out/classifier.ckpt" -data fashion-mnist-test | head -1
	# The floors: 1000 and all training images against the test set.
	"$S" fd -data fashion-mnist -n 1000 -ref fashion-mnist-test -features "$out/classifier.ckpt"
	"$S" fd -data fashion-mnist -ref fashion-mnist-test -features "$out/classifier.ckpt"
	"$S" hist-bpd -fit fashion-mnist -eval fashion-mnist-test
fi
# The samples as they are, and clamped to [-1, 1] as an 8-bit picture of them is.
for smp in dpmpp-2m unipc; do
	"$S" fd -data "$out/$name-$smp.npy" -ref fashion-mnist-test -features "$out/classifier.ckpt"
	"$S" fd -data "$out/$name-$smp.npy" -ref fashion-mnist-test -features "$out/classifier.ckpt" -clip -1,1
done
