//go:build race

package score

// raceEnabled: the race detector makes sync.Pool drop items at random (and
// instruments allocations), so the allocation-counting tests skip.
const raceEnabled = true
