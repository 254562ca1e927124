#!/bin/sh
# Issue 24: a trained MLP's likelihood and sampling, sdekit and the reference
# side by side (alternated, same minute, same load). Run in a folder holding
# mlp.ckpt (sdesample train -sde vp -data gmm8 -hidden 128,128,128 -steps
# 2000 -precision float32 -o mlp.ckpt) and pts.csv (sdesample data -from gmm8
# -n 1000 -seed 2 -o pts.csv).
#
# Likelihood: sdekit is timed as a whole process (/usr/bin/time: wall and
# user CPU, two workers); the reference is score_sde_pytorch's likelihood
# function on the same float32 weights, one torch thread, timed around the
# call (scripts/netlik_ref.py, one round per process so both sides start
# cold). ROUNDS rounds alternate the two. peer_netlik.py (reference-bench)
# is the accuracy check: it solves the float64 truth (about 40 s) before
# timing the reference, which made its wall_s swing 0.94-1.68 s.
# SAMPLING=1 and TRAINING=1 add the README's sampling and training anchors.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
SDESAMPLE=${SDESAMPLE:-./sdesample}; PY=${PYTHON:-/usr/bin/python3}; ROUNDS=${ROUNDS:-5}
export SCORE_SDE_PYTORCH=${SCORE_SDE_PYTORCH:-/tmp/ssp} REF=${REF:-/work/shared/reference-bench}
r=1
while [ $r -le $ROUNDS ]; do
  /usr/bin/time -f "round $r sdekit likelihood wall %e s user %U s" $SDESAMPLE likelihood -score mlp.ckpt -data pts.csv -o lik.csv >/dev/null
  $PY "$HERE/netlik_ref.py" mlp.ckpt pts.csv 1 | sed "s/^/round $r reference /"
  r=$((r + 1))
done
if [ -n "$SAMPLING" ]; then
  /usr/bin/time -f "sdekit sample wall %e s" $SDESAMPLE sample -sde vp -score mlp.ckpt -sampler em -steps 200 -n 10000 -workers 1 -o s.csv >/dev/null
  $PY "$REF/bench_net_sampling_torch.py" --width 128 --n 10000 --steps 200 --threads 1
fi
if [ -n "$TRAINING" ]; then
  # One thread each: the anchor MLP (width 128, batch 512, float32), sdekit with one worker.
  (cd "$HERE/.." && go test -run '^$' -bench 'TrainStep/float32/W=128/workers=1' -benchtime 2s ./model | grep steps/s)
  $PY "$REF/bench_train_torch.py" --widths 128 --threads 1
fi
