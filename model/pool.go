package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// runner is a piece of parallel work: each call of run takes parts until
// none are left.
type runner interface{ run() }

// pool is a set of persistent helper goroutines. Handing them work sends a
// pointer over a channel, so a parallel call allocates nothing.
type pool struct {
	workers int // including the calling goroutine
	tasks   chan runner
	done    sync.WaitGroup
}

// newPool starts workers-1 helpers; they exit when stop closes the channel.
func newPool(workers int) *pool {
	p := &pool{workers: workers, tasks: make(chan runner)}
	for i := 1; i < workers; i++ {
		go func(tasks <-chan runner, done *sync.WaitGroup) {
			for r := range tasks {
				r.run()
				done.Done()
			}
		}(p.tasks, &p.done)
	}
	return p
}

func (p *pool) stop() { close(p.tasks) }

// do runs r on up to min(workers, parts) goroutines and waits for them.
func (p *pool) do(r runner, parts int) {
	helpers := min(p.workers, parts) - 1
	p.done.Add(helpers)
	for i := 0; i < helpers; i++ {
		p.tasks <- r
	}
	r.run()
	p.done.Wait()
}

// workers is the parallel state of one network.
type workers[T float, K kernels[T]] struct {
	pool    *pool
	cleanup runtime.Cleanup
	job     *gemmJob[T, K]
}

// setWorkers replaces the pool of w, which belongs to owner, by one of n
// goroutines (n <= 1: none). The helpers of a network that is dropped
// without setWorkers(1) exit when it is collected.
func setWorkers[T float, K kernels[T], O any](w *workers[T, K], n int, owner *O) {
	if w.pool != nil {
		w.cleanup.Stop()
		w.pool.stop()
		w.pool = nil
	}
	if n > 1 {
		w.pool = newPool(n)
		w.job = new(gemmJob[T, K])
		w.cleanup = runtime.AddCleanup(owner, func(p *pool) { p.stop() }, w.pool)
	}
}

func (w *workers[T, K]) count() int {
	if w.pool == nil {
		return 1
	}
	return w.pool.workers
}

// gemmJob is a product C = op(A) op(B) + beta C cut into the tiles of C that
// keep gonum's native gemm serial. Each tile is computed by one goroutine in
// the same way as without workers, so results do not depend on their number.
type gemmJob[T float, K kernels[T]] struct {
	transA, transB bool
	m, n, k        int
	a, b, c        []T
	lda, ldb, ldc  int
	beta           T
	cols, count    int // tiles per band of rows, tiles in all
	next           atomic.Int64
}

func (j *gemmJob[T, K]) run() {
	var k K
	for {
		t := int(j.next.Add(1)) - 1
		if t >= j.count {
			return
		}
		i0, j0 := (t/j.cols)*nativeTileRows, (t%j.cols)*nativeTileCols
		mt, nt := min(nativeTileRows, j.m-i0), min(nativeTileCols, j.n-j0)
		aOff, bOff := i0*j.lda, j0
		if j.transA {
			aOff = i0
		}
		if j.transB {
			bOff = j0 * j.ldb
		}
		k.gemm(j.transA, j.transB, mt, nt, j.k, j.a[aOff:], j.lda, j.b[bOff:], j.ldb, j.beta, j.c[i0*j.ldc+j0:], j.ldc)
	}
}

// gemm is kernels.gemm, spread over the workers when the BLAS is gonum's
// native one and C has more than one tile. Other BLAS run their own threads.
func (w *workers[T, K]) gemm(transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	var kern K
	rows, cols := (m+nativeTileRows-1)/nativeTileRows, (n+nativeTileCols-1)/nativeTileCols
	if w.pool == nil || rows*cols == 1 || !kern.native() {
		kern.gemm(transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc)
		return
	}
	j := w.job
	j.transA, j.transB, j.m, j.n, j.k = transA, transB, m, n, k
	j.a, j.b, j.c, j.lda, j.ldb, j.ldc, j.beta = a, b, c, lda, ldb, ldc, beta
	j.cols, j.count = cols, rows*cols
	j.next.Store(0)
	w.pool.do(j, j.count)
	j.a, j.b, j.c = nil, nil, nil
}
