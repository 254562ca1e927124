#!/bin/sh
# Runs every fuzz target for a short, bounded time (CI: 5 s each, about a
# minute in all with the builds). A crash the fuzzer finds is written under
# the package's testdata/fuzz and then runs with every `go test`: commit it
# with the fix.   sh scripts/fuzz.sh [SECONDS]
set -eu
t=${1:-5}
for target in \
	./data:FuzzReadCSV ./data:FuzzReadNPY ./data:FuzzReadIDX ./model:FuzzCheckpoint \
	./cmd/sdesample:FuzzMixtureFile ./cmd/sdesample:FuzzRunRecord ./cmd/sdesample:FuzzShardSpec \
	./study:FuzzSamplerSpec; do
	pkg=${target%%:*}
	name=${target#*:}
	echo "== fuzz $name ($pkg, ${t}s)"
	go test -run '^$' -fuzz "^$name\$" -fuzztime "${t}s" "$pkg"
done
