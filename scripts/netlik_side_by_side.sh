#!/bin/sh
# Issue 24: a trained MLP's likelihood and sampling, sdekit and the reference
# side by side (alternated, same minute, same load). Run in a folder holding
# mlp.ckpt (sdesample train -sde vp -data gmm8 -hidden 128,128,128 -steps
# 2000 -precision float32 -o mlp.ckpt) and pts.csv (sdesample data -from gmm8
# -n 1000 -seed 2 -o pts.csv). peer_netlik.py also solves the float64 truth
# (about 40 s) before timing the reference; its "wall_s" is the reference's
# likelihood alone. sdekit is timed as a whole process.
set -e
SDESAMPLE=${SDESAMPLE:-./sdesample}; REF=${REF:-/work/shared/reference-bench}; PY=${PYTHON:-/usr/bin/python3}
for r in 1 2; do
  /usr/bin/time -f "sdekit likelihood wall %e s" $SDESAMPLE likelihood -score mlp.ckpt -data pts.csv -o lik.csv | grep evaluations
  SCORE_SDE_PYTORCH=${SCORE_SDE_PYTORCH:-/tmp/ssp} $PY $REF/peer_netlik.py mlp.ckpt pts.csv lik.csv | grep -v '^{"truth"'
  /usr/bin/time -f "sdekit sample wall %e s" $SDESAMPLE sample -sde vp -score mlp.ckpt -sampler em -steps 200 -n 10000 -workers 1 -o s.csv >/dev/null
  $PY $REF/bench_net_sampling_torch.py --width 128 --n 10000 --steps 200 --threads 1
done
