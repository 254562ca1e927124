#!/usr/bin/env bash
# Execute every notebook in notebooks/ headless on the gophernotes Go kernel.
#
#   scripts/notebooks.sh            # all notebooks, in order
#   scripts/notebooks.sh 03 05      # only the notebooks whose names start so
#   scripts/notebooks.sh -kernel    # only install and build the kernel (for local use)
#
# What it does, each step skipped when already done:
#   1. installs the Debian packages it needs (python3-nbclient, gcc, libc6-dev);
#   2. builds gophernotes v0.7.5, pinned by notebooks/tools/gophernotes/go.mod
#      (newer gomacro and x/tools, and a two-line patch to x_package.go so that
#      it starts on Go >= 1.22), into $SDEKIT_NB_CACHE (default
#      ~/.cache/sdekit-gophernotes), with a stamp so an unchanged build is skipped;
#   3. writes a kernelspec "gophernotes" under $SDEKIT_NB_CACHE/jupyter, whose
#      wrapper gives every kernel process a GOPATH of its own;
#   4. runs each notebook in a fresh kernel, writes the
#      executed copy to $SDEKIT_NB_OUT (default out/notebooks, ignored by git),
#      fails a notebook on any cell error or when it shows no image, and prints
#      "N passed, N failed". Exit status 1 when any notebook failed.
#
# Environment: SDEKIT_NB_CACHE, SDEKIT_NB_OUT, SDEKIT_NB_CELL_TIMEOUT (seconds per
# cell, default 300).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SDEKIT_NB_CACHE:-$HOME/.cache/sdekit-gophernotes}
OUT=${SDEKIT_NB_OUT:-$ROOT/out/notebooks}
CELL_TIMEOUT=${SDEKIT_NB_CELL_TIMEOUT:-300}
PY=/usr/bin/python3 # Debian's: a pyenv python3 earlier on PATH does not see the apt modules
TOOLS=$ROOT/notebooks/tools/gophernotes
GOPHERNOTES_VERSION=v0.7.5

t_start=$(date +%s)
say() { echo "notebooks: $*"; }

# ---- 1. Debian packages --------------------------------------------------------
need=()
for p in python3-nbclient gcc libc6-dev; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		need+=("$p")
	fi
done
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
	say "installing ${need[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! $PY -c 'import nbclient, nbformat' 2>/dev/null; then
	echo "notebooks: $PY cannot import nbclient; install python3-nbclient" >&2
	exit 1
fi

# ---- 2. the kernel ------------------------------------------------------------
export GOTOOLCHAIN=local
if [ "$(go env CGO_ENABLED)" != 1 ]; then
	echo "notebooks: gophernotes builds every import as a cgo plugin; set CGO_ENABLED=1 and install gcc" >&2
	exit 1
fi
KERNEL=$CACHE/bin/gophernotes
stamp_want=$(cat "$TOOLS/go.mod" "$TOOLS/go.sum" "$0" <(go version) | sha256sum | cut -d' ' -f1)
if [ -x "$KERNEL" ] && [ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$stamp_want" ]; then
	say "kernel up to date ($KERNEL)"
else
	say "building gophernotes $GOPHERNOTES_VERSION into $CACHE"
	t0=$(date +%s)
	build=$CACHE/build
	rm -rf "$build" && mkdir -p "$build" "$CACHE/bin"
	cp "$TOOLS/go.mod" "$TOOLS/go.sum" "$build/"
	(
		cd "$build"
		export GOFLAGS=-mod=mod
		# The gomacro pseudo-version is not in the checksum database; go.sum pins it.
		export GONOSUMDB=github.com/cosmos72,github.com/gopherdata
		src=$(go mod download -json "github.com/gopherdata/gophernotes@$GOPHERNOTES_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -d "$src" ] || { echo "notebooks: could not download gophernotes $GOPHERNOTES_VERSION" >&2; exit 1; }
		cp -r "$src" gophernotes
		chmod -R u+w gophernotes
		# The proxy for display.JSONer must match the interface, JSON() map[string]interface{}
		# (the change gophernotes made upstream after v0.7.5).
		sed -i \
			-e 's/^\tJSON_  func(interface{}) string$/\tJSON_  func(interface{}) map[string]interface{}/' \
			-e 's/^func (P \*proxy_JSONer) JSON() string {$/func (P *proxy_JSONer) JSON() map[string]interface{} {/' \
			gophernotes/x_package.go
		if [ "$(grep -c 'map\[string\]interface{}' gophernotes/x_package.go)" -lt 2 ]; then
			echo "notebooks: patching gophernotes/x_package.go failed" >&2
			exit 1
		fi
		# gomacro prints "// warning: skipping import of ..." for every
		# generic declaration of a package an import pulls in (sync,
		# math/rand/v2): four lines in each notebook's first cell that are
		# no fault of the notebook. The copy below drops that message.
		gm_version=$(sed -n 's/^[[:space:]]*github.com\/cosmos72\/gomacro \(v[^ ]*\)$/\1/p' go.mod)
		gm=$(go mod download -json "github.com/cosmos72/gomacro@$gm_version" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -d "$gm" ] || { echo "notebooks: could not download gomacro $gm_version" >&2; exit 1; }
		cp -r "$gm" gomacro
		chmod -R u+w gomacro
		sed -i 's|^\t\t\t\tfmt.Printf("// warning: skipping import of %v:\\t%v\\n", g, e)$|\t\t\t\t_ = e // a declaration the interpreter cannot import (generics): not the notebook'"'"'s fault|' \
			gomacro/go/types/converter.go
		if grep -q 'warning: skipping import of %v' gomacro/go/types/converter.go; then
			echo "notebooks: patching gomacro/go/types/converter.go failed" >&2
			exit 1
		fi
		go mod edit -replace github.com/cosmos72/gomacro=./gomacro
		go build -o "$KERNEL.new" github.com/gopherdata/gophernotes
	)
	mv "$KERNEL.new" "$KERNEL"
	echo "$stamp_want" >"$CACHE/stamp"
	say "kernel built in $(($(date +%s) - t0)) s"
fi

# ---- 3. kernelspec --------------------------------------------------------------
# The kernel builds each import as a plugin with the go command. For the project's
# own module path the proxy answers 400/403; "|off" makes the go command fall
# through to the local replace that gomacro writes.
proxies=$(go env GOPROXY | tr ',|' '\n\n' | grep -v -x -e direct -e off -e '' | paste -sd'|' || true)
if [ -n "$proxies" ]; then proxies="$proxies|off"; else proxies=off; fi
# gomacro deletes $GOPATH/src/gomacro.imports on its first import, so two kernels
# sharing a GOPATH break each other: the wrapper gives every kernel process its
# own GOPATH (named by its pid, removed by a later start once that pid is gone),
# with the module and build caches shared.
mkdir -p "$CACHE/gopath"
cat >"$CACHE/bin/gophernotes-kernel" <<EOF
#!/bin/sh
# Written by scripts/notebooks.sh: start gophernotes with a GOPATH of its own.
for d in "$CACHE/gopath"/kernel-*; do
	[ -d "\$d" ] || continue
	kill -0 "\${d##*-}" 2>/dev/null || rm -rf "\$d"
done
export GOPATH="$CACHE/gopath/kernel-\$\$"
export GOMODCACHE="$(go env GOMODCACHE)"
export GOCACHE="$(go env GOCACHE)"
export GOFLAGS=-mod=mod
mkdir -p "\$GOPATH"
exec "$KERNEL" "\$@"
EOF
chmod +x "$CACHE/bin/gophernotes-kernel"
spec=$CACHE/jupyter/kernels/gophernotes
mkdir -p "$spec"
cat >"$spec/kernel.json" <<EOF
{
  "argv": ["$CACHE/bin/gophernotes-kernel", "{connection_file}"],
  "display_name": "Go (sdekit)",
  "language": "go",
  "env": {"GOPROXY": "$proxies", "GOTOOLCHAIN": "local"}
}
EOF
export JUPYTER_PATH=$CACHE/jupyter
if [ "${1:-}" = "-kernel" ]; then
	say "kernelspec in $JUPYTER_PATH; open the notebooks with JUPYTER_PATH=$JUPYTER_PATH (see notebooks/README.md)"
	exit 0
fi

# ---- 4. run the notebooks --------------------------------------------------------
# Each notebook runs in a fresh kernel, so with a GOPATH of its own (the wrapper above).
notebooks=()
for f in "$ROOT"/notebooks/[0-9][0-9]-*.ipynb; do
	[ -e "$f" ] || continue
	base=$(basename "$f")
	if [ $# -gt 0 ]; then
		keep=0
		for a in "$@"; do case "$base" in "$a"*) keep=1 ;; esac; done
		[ $keep = 1 ] || continue
	fi
	notebooks+=("$f")
done
if [ ${#notebooks[@]} -eq 0 ]; then
	echo "notebooks: no notebooks matched" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
rc=0
$PY "$ROOT/scripts/run_notebooks.py" "$OUT" "$CELL_TIMEOUT" "${notebooks[@]}" || rc=$?
say "executed copies in $OUT; total $(($(date +%s) - t_start)) s"
exit $rc
