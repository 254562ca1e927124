#!/bin/sh
# The stochastic frontier of docs/samplers.md: the reverse-SDE solvers at
# 25 to 800 steps on gmm8 (sample metrics, 4000 rows) and gauss:64 (the
# exact KL of the output law, 500 rows), under vp and edm. Pictures in
# docs/img/frontier-sde-PROBLEM-SDE.png, tables in OUT (default: a
# temporary folder). A few minutes on 2 cores:
#   sh scripts/frontier-sde.sh [OUT]
set -eu
out=${1:-$(mktemp -d)}
mkdir -p "$out" docs/img
go build -o "$out/sdesample" ./cmd/sdesample
specs='em;em noise=tree;stochastic-heun;sra1;shark;dpmpp-2m-sde;edm-sde;adaptive-sde;adaptive-sde rtol=0.02 atol=0.02;sra1 rtol=0.01 atol=0.01'
for prob in gmm8 gauss:64; do
	n=4000
	[ "$prob" = gauss:64 ] && n=500
	for sde in vp edm; do
		s=$specs
		[ "$sde" = vp ] && s="ddpm;$s"
		name=frontier-sde-$(echo "$prob" | tr -d :)-$sde
		"$out/sdesample" frontier -score "$prob" -sde "$sde" -samplers "$s" \
			-steps-list 25,50,100,200,400,800 -n "$n" -o "$out/$name.csv" \
			-plot "docs/img/$name.png" -plot-size 900x600 >"$out/$name.txt"
	done
done
echo "tables in $out"
