// The gophernotes kernel used by the notebooks, pinned. This module is not
// part of sdekit; scripts/notebooks.sh copies it into a cache directory,
// puts a patched copy of gophernotes v0.7.5 next to it (the replace below)
// and builds the kernel there.
module sdekit.local/gophernotes-build

go 1.22.0

require (
	github.com/cosmos72/gomacro v0.0.0-20240506194242-2ff796e3da10
	github.com/gopherdata/gophernotes v0.7.5
	golang.org/x/tools v0.28.0
)

replace github.com/gopherdata/gophernotes => ./gophernotes
