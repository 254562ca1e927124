#!/bin/sh
# Times one U-Net training step (batch 64, float32, one thread, 1x28x28, the
# default architecture) in sdekit and in PyTorch, alternating the two so that
# both see the same machine load. Usage: scripts/unet_bench.sh [rounds] [steps]
# from the repository root; PyTorch must be importable by /usr/bin/python3.
set -e
rounds=${1:-3}
steps=${2:-5}
go test -c -o /tmp/sdekit-unet-bench.test ./model
for r in $(seq "$rounds"); do
	echo "round $r"
	GOMAXPROCS=1 /tmp/sdekit-unet-bench.test -test.run '^$' -test.bench 'UNetTrainStep/float32/workers=1$' \
		-test.benchtime "${steps}x" | grep '^Benchmark' | sed 's/^/  sdekit  /'
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 scripts/unet_torch_bench.py -steps "$steps" -threads 1 | sed 's/^/  /'
done
rm -f /tmp/sdekit-unet-bench.test
