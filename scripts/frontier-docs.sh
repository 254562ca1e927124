#!/bin/sh
# Regenerates the work-precision study of docs/samplers.md: for gmm8 and
# gauss:64 under vp, subvp, ve and edm, every fast sampler at its defaults
# (and the variants the document compares) at 5 to 80 steps, against the
# exact flow. Writes docs/img/frontier-PROBLEM-SDE.png and, as plain tables,
# OUT/frontier-PROBLEM-SDE.csv (OUT defaults to a temporary folder).
# About a minute on 2 cores:  sh scripts/frontier-docs.sh [OUT]
set -eu
out=${1:-$(mktemp -d)}
mkdir -p "$out" docs/img
go build -o "$out/sdesample" ./cmd/sdesample
specs='ode solver=heun;edm-euler;edm-heun;dpm-2;dpm-3;dpmpp-2s;dpmpp-2m;dpmpp-3m;unipc;unipc prediction=noise;dpmpp-3m prediction=noise schedule=karras;dpm-adaptive'
for prob in gmm8 gauss:64; do
	for sde in vp subvp ve edm; do
		s=$specs
		[ "$sde" = vp ] && s="ddim;$s"
		name=frontier-$(echo "$prob" | tr -d :)-$sde
		"$out/sdesample" frontier -score "$prob" -sde "$sde" -samplers "$s" \
			-steps-list 5,10,20,40,80 -n 2000 -o "$out/$name.csv" \
			-plot "docs/img/$name.png" -plot-size 900x600 >"$out/$name.txt"
	done
done
echo "tables in $out"
