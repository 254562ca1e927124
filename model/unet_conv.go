package model

import (
	"sync/atomic"
	"unsafe"

	"github.com/sdekit/sdekit/internal/gemm"
)

// directConv lets float32 3x3 convolutions run on gemm.ConvTile32 where it
// has its AVX-512 kernel; tests clear it to compare with im2col + gemm.
var directConv = true

// conv3To computes the 3x3, padding-1 convolution of src (n images of h x w
// pixels, cin channels, NHWC) with wt ((9*cin) x cout, row (ky*3+kx)*cin +
// ci) into dst (n*h*w x cout): dst = acc + bias when bias is not nil,
// dst += acc when accumulate, else dst = acc, where acc is, per element,
// one FMA chain over the 9*cin products in im2col order. Both paths (im2col
// + gemm, or direct tiles) give these bits.
func (c *unetCore[T, K]) conv3To(dst, src []T, h, w, cin, cout int, wt, bias []T, accumulate bool) {
	var zero T
	if unsafe.Sizeof(zero) == 4 && directConv && gemm.HaveConvTile32() {
		pad := padTo(c.pad, src, c.n, h, w, cin)
		direct3(c.direct, c.par.pool, c.n, as32(pad), as32(c.wpan), as32(dst), h, w, cin, cout, as32(wt), as32(bias), accumulate)
		return
	}
	m := c.n * h * w
	kk := 9 * cin
	var beta T
	if bias != nil {
		for r := 0; r < m; r++ {
			copy(dst[r*cout:(r+1)*cout], bias)
		}
		beta = 1
	} else if accumulate {
		beta = 1
	}
	rows := min(m, max(1, colBudget/kk))
	for r0 := 0; r0 < m; r0 += rows {
		r1 := min(m, r0+rows)
		cols := c.cols[:(r1-r0)*kk]
		im2col(cols, src, h, w, cin, r0, r1)
		c.par.gemm(false, false, r1-r0, cout, kk, cols, kk, wt, cout, beta, dst[r0*cout:], cout)
	}
}

// directJob is a direct 3x3 convolution cut into blocks of tiles for the
// workers: tile q0 covers the 12 output positions q0..q0+11 (image i, row
// y, column x at q = (i*(h+1) + y)*(w+1) + x, valid where y < h and x < w;
// see padTo).
type directJob struct {
	dst, pad, wp, bias []float32
	bp                 []float32 // bias in 32-wide panels, zero-padded
	n, h, w, cin, cout int
	accumulate         bool
	taps               int // 9, or 1 for a 1x1 convolution on plain rows (tile q0 = rows q0..q0+11)
	offs               [9]int
	tiles, next        atomic.Int64
}

const directBlock = 8 // tiles per work item

func (j *directJob) run() {
	var tile [gemm.ConvMR * gemm.ConvNR]float32
	hp, wp := j.h+1, j.w+1
	panels := (j.cout + gemm.ConvNR - 1) / gemm.ConvNR
	kp := j.taps * j.cin * gemm.ConvNR
	tiles := int(j.tiles.Load())
	for {
		blk := int(j.next.Add(1)) - 1
		if blk*directBlock >= tiles {
			return
		}
		for tq := blk * directBlock; tq < min(tiles, (blk+1)*directBlock); tq++ {
			q0 := tq * gemm.ConvMR
			// Where the 12 positions are pixels of one image row (or, for
			// 1x1, 12 rows), the kernel writes full 32-channel panels
			// straight into dst.
			out0, straight := q0, true
			if j.taps == 9 {
				img, rem := q0/(hp*wp), q0%(hp*wp)
				y, x := rem/wp, rem%wp
				straight = img < j.n && y < j.h && x+gemm.ConvMR <= j.w
				out0 = (img*j.h+y)*j.w + x
			}
			for jp := 0; jp < panels; jp++ {
				var bias []float32
				if j.bias != nil {
					bias = j.bp[jp*gemm.ConvNR : (jp+1)*gemm.ConvNR]
				}
				c0 := jp * gemm.ConvNR
				nc := min(gemm.ConvNR, j.cout-c0)
				a, b := j.pad[q0*j.cin:], j.wp[jp*kp:(jp+1)*kp]
				if straight && !j.accumulate && nc == gemm.ConvNR {
					gemm.ConvTile32(j.dst[out0*j.cout+c0:], j.cout, a, j.cin, j.offs[:j.taps], j.cin, b, bias)
					continue
				}
				gemm.ConvTile32(tile[:], gemm.ConvNR, a, j.cin, j.offs[:j.taps], j.cin, b, bias)
				for r := 0; r < gemm.ConvMR; r++ {
					q := q0 + r
					out := q
					if j.taps == 9 {
						img, rem := q/(hp*wp), q%(hp*wp)
						if img >= j.n {
							break
						}
						y, x := rem/wp, rem%wp
						if y >= j.h || x >= j.w {
							continue
						}
						out = (img*j.h+y)*j.w + x
					}
					d := j.dst[out*j.cout+c0:][:nc]
					t := tile[r*gemm.ConvNR:][:nc]
					if j.accumulate {
						for k, v := range t {
							d[k] += v
						}
					} else {
						copy(d, t) // the kernel added the bias
					}
				}
			}
		}
	}
}

// padTo copies src (n images of h x w pixels, ch channels, NHWC) into the
// zero-padded grid pad: pixel (y, x) of image i at grid position
// (i*(h+1) + y)*(w+1) + x + (w+2), zeros elsewhere. Each image has one zero
// column (x = w) and one zero row (y = h), which are also the left column
// of the next row and the top row of the next image; the w+2 leading zeros
// are the top row and left column of the first. The directMargin pixels
// after the last image are zero too. It returns the grid, sliced.
//
// Output position q = (i*(h+1) + y)*(w+1) + x of a convolution then reads
// tap (ky, kx) at grid position q + ky*(w+1) + kx.
func padTo[T float](pad, src []T, n, h, w, ch int) []T {
	hp, wpd := h+1, w+1
	pad = pad[:padLen(n, h, w, ch)]
	lead := wpd + 1
	clear(pad[:lead*ch])
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			row := pad[((i*hp+y)*wpd+lead)*ch:]
			copy(row, src[((i*h+y)*w)*ch:((i*h+y)*w+w)*ch])
			clear(row[w*ch : wpd*ch])
		}
		clear(pad[((i*hp+h)*wpd+lead)*ch : ((i*hp+h+1)*wpd+lead)*ch])
	}
	clear(pad[(n*hp*wpd+lead)*ch:])
	return pad
}

// direct3 is conv3To on gemm.ConvTile32 for the padded grid pad (padTo):
// the weights are copied into 32-column panels, and each tile of 12 output
// positions (which include the padding column and row of each image, whose
// results are dropped) is one kernel call per panel.
func direct3(j *directJob, workers *pool, n int, pad, wpBuf, dst []float32, h, w, cin, cout int, wt, bias []float32, accumulate bool) {
	j.n, j.h, j.w, j.taps = n, h, w, 9
	for t := 0; t < 9; t++ {
		j.offs[t] = ((t/3)*(w+1) + t%3) * cin
	}
	runDirect(j, workers, pad, wpBuf, dst, cin, cout, wt, bias, accumulate, (n*(h+1)*(w+1)+gemm.ConvMR-1)/gemm.ConvMR)
}

// direct1 is the 1x1 convolution dst = src wt (+ bias, or += when
// accumulate) of the first tiles*12 rows of src on gemm.ConvTile32 with
// one tap.
func direct1(j *directJob, workers *pool, src, wpBuf, dst []float32, tiles, cin, cout int, wt, bias []float32, accumulate bool) {
	j.taps, j.offs[0] = 1, 0
	runDirect(j, workers, src, wpBuf, dst, cin, cout, wt, bias, accumulate, tiles)
}

// runDirect copies the taps*cin x cout weights into 32-column panels and
// runs the tiles of j over the workers.
func runDirect(j *directJob, workers *pool, pad, wpBuf, dst []float32, cin, cout int, wt, bias []float32, accumulate bool, tiles int) {
	if tiles == 0 {
		return
	}
	panels := (cout + gemm.ConvNR - 1) / gemm.ConvNR
	kp := j.taps * cin * gemm.ConvNR
	wp := wpBuf[:panels*kp]
	for jp := 0; jp < panels; jp++ {
		c0 := jp * gemm.ConvNR
		nc := min(gemm.ConvNR, cout-c0)
		for p := 0; p < j.taps*cin; p++ {
			d := wp[jp*kp+p*gemm.ConvNR : jp*kp+(p+1)*gemm.ConvNR]
			copy(d, wt[p*cout+c0:p*cout+c0+nc])
			clear(d[nc:])
		}
	}
	if bias != nil {
		if len(j.bp) < panels*gemm.ConvNR {
			j.bp = make([]float32, panels*gemm.ConvNR)
		}
		clear(j.bp)
		copy(j.bp, bias[:cout])
	}
	j.dst, j.pad, j.wp, j.bias = dst, pad, wp, bias
	j.cin, j.cout, j.accumulate = cin, cout, accumulate
	j.tiles.Store(int64(tiles))
	j.next.Store(0)
	blocks := (tiles + directBlock - 1) / directBlock
	if workers == nil {
		j.run()
	} else {
		workers.do(j, blocks)
	}
	j.dst, j.pad, j.wp, j.bias = nil, nil, nil, nil
}

// conv1To is the 1x1 convolution (a product) dst = src wt + bias (bias not
// nil), dst += src wt (accumulate) or dst = src wt, for the m rows of src
// (cin values each): one FMA chain per element then the bias or old value
// added, as gemm with beta = 1. Whole tiles of 12 rows run on the direct
// kernel in float32 with AVX-512, the rest on gemm: the same bits.
func (c *unetCore[T, K]) conv1To(dst, src []T, m, cin, cout int, wt, bias []T, accumulate bool) {
	r0 := 0
	var zero T
	if unsafe.Sizeof(zero) == 4 && directConv && gemm.HaveConvTile32() && len(c.wpan) >= (cout+gemm.ConvNR-1)/gemm.ConvNR*gemm.ConvNR*cin {
		tiles := m / gemm.ConvMR
		direct1(c.direct, c.par.pool, as32(src), as32(c.wpan), as32(dst), tiles, cin, cout, as32(wt), as32(bias), accumulate)
		r0 = tiles * gemm.ConvMR
	}
	if r0 == m {
		return
	}
	var beta T
	if bias != nil {
		for r := r0; r < m; r++ {
			copy(dst[r*cout:(r+1)*cout], bias)
		}
		beta = 1
	} else if accumulate {
		beta = 1
	}
	c.par.gemm(false, false, m-r0, cout, cin, src[r0*cin:], cin, wt, cout, beta, dst[r0*cout:], cout)
}

// padLen is the length of a padded grid: the n images, the margin pixels,
// and gemm.ConvNR values that the tiles' last rows and columns may read past
// the last pixel (they belong to other channels or pixels; their results
// are dropped).
func padLen(n, h, w, ch int) int { return (n*(h+1)*(w+1)+w+2+directMargin(w))*ch + gemm.ConvNR }

// directMargin is the number of zero pixels after the padded grid that the
// last tile may read: 11 rows past its start plus the largest tap offset.
func directMargin(w int) int { return gemm.ConvMR + 2*(w+1) + 2 }

// as32 views a float32-sized []T as []float32 (nil stays nil); only called
// where T is float32.
func as32[T float](s []T) []float32 {
	if s == nil {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// convWeightGrad adds to gw ((9*cin) x cout, the layout of the weights) the
// weight gradient of a 3x3 convolution, from padX and padDY, the input and
// the output gradient on padded grids (padTo). Over chunks of the grid
// (fixed by the shapes) and for each tap t at grid offset o_t,
//
//	gw_t += sum over q in the chunk of padX[q + o_t]^T padDY[q + w+2],
//
// padding positions contributing zeros. In float32 with AVX-512 the tiles
// run on gemm.TileTN32 over the workers, elsewhere on gemm with transA:
// the same chains, so the same bits.
func (c *unetCore[T, K]) convWeightGrad(gw, padX, padDY []T, h, w, cin, cout int) {
	wpd := w + 1
	q := c.n * (h + 1) * wpd
	qc := max(gemm.ConvMR, (1<<17)/(cin+cout))
	var zero T
	fast := unsafe.Sizeof(zero) == 4 && directConv && gemm.HaveConvTile32()
	for q0 := 0; q0 < q; q0 += qc {
		ql := min(qc, q-q0)
		b := padDY[(q0+wpd+1)*cout:]
		if fast {
			j := c.tn
			j.gw, j.a, j.b = as32(gw), as32(padX[q0*cin:]), as32(b)
			j.wpd, j.cin, j.cout, j.k = wpd, cin, cout, ql
			j.rowTiles, j.colTiles = (cin+gemm.ConvMR-1)/gemm.ConvMR, (cout+gemm.ConvNR-1)/gemm.ConvNR
			j.next.Store(0)
			if c.par.pool == nil {
				j.run()
			} else {
				c.par.pool.do(j, 9*j.rowTiles*j.colTiles)
			}
			j.gw, j.a, j.b = nil, nil, nil
			continue
		}
		for t := 0; t < 9; t++ {
			o := (t/3)*wpd + t%3
			c.par.gemm(true, false, cin, cout, ql, padX[(q0+o)*cin:], cin, b, cout, 1, gw[t*cin*cout:(t+1)*cin*cout], cout)
		}
	}
}

// tnJob is one chunk of convWeightGrad cut into 12 x 32 tiles of the 9
// taps' weight gradients.
type tnJob struct {
	gw, a, b           []float32
	wpd, cin, cout, k  int
	rowTiles, colTiles int
	next               atomic.Int64
}

func (j *tnJob) run() {
	var tile [gemm.ConvMR * gemm.ConvNR]float32
	per := j.rowTiles * j.colTiles
	for {
		i := int(j.next.Add(1)) - 1
		if i >= 9*per {
			return
		}
		t, rt, ct := i/per, (i%per)/j.colTiles, i%j.colTiles
		o := (t/3)*j.wpd + t%3
		ci0, co0 := rt*gemm.ConvMR, ct*gemm.ConvNR
		gemm.TileTN32(tile[:], j.a[o*j.cin+ci0:], j.cin, j.b[co0:], j.cout, j.k)
		nr, nc := min(gemm.ConvMR, j.cin-ci0), min(gemm.ConvNR, j.cout-co0)
		for r := 0; r < nr; r++ {
			g := j.gw[(t*j.cin+ci0+r)*j.cout+co0:][:nc]
			for k, v := range tile[r*gemm.ConvNR:][:nc] {
				g[k] += v
			}
		}
	}
}
