#!/bin/bash
# Latent vs pixel diffusion on Fashion-MNIST at equal training wall time
# (docs/latent.md, "Latent vs pixel on Fashion-MNIST"). Usage, from the
# repository root:
#   go build -o /tmp/sdesample ./cmd/sdesample
#   SDESAMPLE=/tmp/sdesample bash scripts/latent-vs-pixel-fashion.sh OUTDIR
# BUDGET (seconds of training, default 600) is each side's: the pixel U-Net
# trains for BUDGET (train -max-time); the latent side's convolutional
# autoencoder for AE_TIME (default 200) and then each latent U-Net (one per
# width in CHANNELS, default "64 48 32", all on that autoencoder) for the
# rest. SEED (default 1) seeds the three trainings; the classifier of the
# Frechet distance is always seed 1. The step limits (-steps) are far beyond
# what the budget reaches. Writes every command's output to OUTDIR:
# clf.txt, pix.txt, ae.txt, ldmCH.txt (training), {pix,ldmCH}-SAMPLER.txt
# (sampling, timed with /usr/bin/time), fd-*.txt (Frechet distances as they
# are and clamped to [-1, 1]) and fd-floor.txt (1000 real images).
set -euo pipefail
S=${SDESAMPLE:?set SDESAMPLE to a built sdesample}
BUDGET=${BUDGET:-600}; AE_TIME=${AE_TIME:-200}; N=${N:-1000}; W=${WORKERS:-2}
CHANNELS=${CHANNELS:-64 48 32}; SEED=${SEED:-1}
mkdir -p "$1" && cd "$1"
$S train-classifier -data fashion-mnist -clean -hidden 256,128 -steps 4000 -batch 128 -seed 1 -o clf.ckpt > clf.txt
$S classify -model clf.ckpt -data fashion-mnist-test >> clf.txt
# Pixel model: the U-Net of docs/images.md.
$S train -sde vp -data fashion-mnist -dequant uniform -arch unet -precision float32 -workers $W \
  -batch 64 -lr 5e-4 -warmup 20 -clip 1 -steps 100000 -max-time ${BUDGET}s -seed $SEED -o pix.ckpt > pix.txt
# Latent side: the first stage, then U-Nets on its 4x7x7 latents (one
# resolution, since 7 is odd; 64 channels is the pixel U-Net's 7x7 stage).
$S autoencoder -arch conv -data fashion-mnist -test fashion-mnist-test -latent-channels 4 -precision float32 -workers $W \
  -steps 100000 -max-time ${AE_TIME}s -seed $SEED -o ae.ckpt > ae.txt
models=pix
for ch in $CHANNELS; do
  $S train -sde vp -latent ae.ckpt -data fashion-mnist -arch unet -mult 1 -channels $ch -precision float32 -workers $W \
    -batch 64 -lr 5e-4 -warmup 20 -clip 1 -steps 100000 -max-time $((BUDGET - AE_TIME))s -seed $SEED -o ldm$ch.ckpt > ldm$ch.txt
  models="$models ldm$ch"
done
for smp in "dpmpp-2m -steps 20" "ddim -steps 50"; do
  s=${smp%% *}
  for m in $models; do
    # shellcheck disable=SC2086 # smp holds the sampler and its flags
    /usr/bin/time -f "wall %e s, user %U s" -o $m-$s.time $S sample -sde vp -score $m.ckpt -sampler $smp -n $N -workers $W -o $m-$s.npy -plot $m-$s.png > $m-$s.txt
    cat $m-$s.time >> $m-$s.txt
    $S fd -data $m-$s.npy -ref fashion-mnist-test -features clf.ckpt > fd-$m-$s.txt
    $S fd -data $m-$s.npy -clip -1,1 -ref fashion-mnist-test -features clf.ckpt > fd-$m-$s-clip.txt
  done
done
$S fd -data fashion-mnist -n $N -ref fashion-mnist-test -features clf.ckpt > fd-floor.txt
