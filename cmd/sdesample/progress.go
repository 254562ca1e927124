package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal. A pipe, a file or any writer
// that is not an *os.File is not; tests can force it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress shows a bar with the rate and the time left on a terminal and
// nothing otherwise. It is safe for concurrent use; a nil *progress is
// silent.
type progress struct {
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
	base int64 // rows finished in earlier blocks
	last int64
}

// newProgress returns a bar of total items on stderr, or nil when stderr is
// not a terminal.
func newProgress(stderr io.Writer, total int, what, unit string) *progress {
	if total <= 0 || !isTerminal(stderr) {
		return nil
	}
	bar := progressbar.NewOptions64(int64(total),
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
	)
	return &progress{bar: bar}
}

// set moves the bar to base+done items.
func (p *progress) set(done int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.base + int64(done)
	if v > p.last {
		p.last = v
		p.bar.Set64(v)
	}
}

// block ends a block of n items: later set calls count from there.
func (p *progress) block(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.base += int64(n)
	p.last = p.base
	p.bar.Set64(p.base)
	p.mu.Unlock()
}

// done clears the bar.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.bar.Finish()
	p.mu.Unlock()
}

// describe changes the bar's label.
func (p *progress) describe(s string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.bar.Describe(s)
	p.mu.Unlock()
}
