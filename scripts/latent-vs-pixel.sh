#!/bin/bash
# Latent vs pixel diffusion on the digits at equal training wall time
# (docs/latent.md). Usage, from the repository root:
#   go build -o /tmp/sdesample ./cmd/sdesample
#   SDESAMPLE=/tmp/sdesample bash scripts/latent-vs-pixel.sh OUTDIR
# Writes every command's output to OUTDIR: budget.txt (wall times and the
# latent step counts), clf.txt (the classifier's held-out accuracy),
# ae.txt (reconstruction errors), {pix,ldm,ldm2}-SAMPLER.txt (sampling time
# and evaluations), fd-*.txt (Frechet distances) and fd-floor.txt.
set -euo pipefail
S=${SDESAMPLE:?set SDESAMPLE to a built sdesample}
mkdir -p "$1" && cd "$1"
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
$S train-classifier -clean -data digits-train -hidden 256,256 -steps 3000 -o clf.ckpt > clf.txt
$S classify -model clf.ckpt -data digits-test >> clf.txt
t0=$(now)
$S train -data digits-train -hidden 256,256 -steps 12000 -o pix.ckpt > pix.txt
pix=$(since "$t0")
t0=$(now)
$S autoencoder -data digits-train -test digits-test -latent 8 -hidden 256 -steps 8000 -o ae.ckpt > ae.txt
ae=$(since "$t0")
echo "pixel wall $pix s, autoencoder wall $ae s" > budget.txt
# Each latent network trains for the pixel model's wall time less the
# autoencoder's, at its rate over a 1000-step probe.
for hidden in 256,256 128,128; do
  tag=ldm; [ "$hidden" = 128,128 ] && tag=ldm2
  $S train -latent ae.ckpt -data digits-train -hidden $hidden -steps 1000 -o probe.ckpt > probe.txt
  rate=$(grep -o '[0-9.]* steps/s' probe.txt | cut -d' ' -f1)
  steps=$(echo "($pix - $ae) * $rate / 1" | bc)
  t0=$(now)
  $S train -latent ae.ckpt -data digits-train -hidden $hidden -steps "$steps" -o $tag.ckpt > $tag.txt
  echo "$tag (hidden $hidden): $rate steps/s -> $steps steps, wall $(since "$t0") s" >> budget.txt
done
for smp in "ode" "em -steps 100" "ddim -steps 50"; do
  s=${smp%% *}
  for m in pix ldm ldm2; do
    # shellcheck disable=SC2086 # smp holds the sampler and its flags
    $S sample -score $m.ckpt -sampler $smp -n 2000 -workers 1 -o $m-$s.npy > $m-$s.txt
    $S fd -data $m-$s.npy -ref digits-test -features clf.ckpt > fd-$m-$s.txt
  done
done
$S fd -data digits-train -ref digits-test -features clf.ckpt > fd-floor.txt
