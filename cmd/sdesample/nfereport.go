package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// slowFactor is the multiple of the median evaluations per point above which
// the likelihood summary names a point: a point that needs that many more
// steps than its neighbours sits where the probability flow is hard to
// follow (a sharp mode, a network artefact), and its log-density is the
// least trustworthy (issue 24: at rtol = atol = 1e-5 the worst points were
// off by 0.1 to 0.4 nats).
const slowFactor = 3

// nfeReport keeps what the summary says about the evaluations per point:
// their distribution (a count per value, for the median, in memory bounded
// by the step limit), the costliest points and every point above
// slowFactor times the median (up to maxSlowRows of them named).
type nfeReport struct {
	counts map[int]int
	top    []rowNFE // the costliest points, most first, at most topRows
	rows   []rowNFE // every point seen, until there are too many to keep
	many   bool     // rows was given up (more than keepRows points)
}

type rowNFE struct{ row, nfe int }

const (
	topRows     = 5
	maxSlowRows = 10
	keepRows    = 1 << 20
)

func (r *nfeReport) add(row, nfe int) {
	if r.counts == nil {
		r.counts = map[int]int{}
	}
	r.counts[nfe]++
	p := rowNFE{row, nfe}
	i, _ := slices.BinarySearchFunc(r.top, p, func(a, b rowNFE) int { return b.nfe - a.nfe })
	for i < len(r.top) && r.top[i].nfe == nfe {
		i++ // equal costs keep row order
	}
	if i < topRows {
		r.top = slices.Insert(r.top, i, p)
		if len(r.top) > topRows {
			r.top = r.top[:topRows]
		}
	}
	if !r.many {
		r.rows = append(r.rows, p)
		if len(r.rows) > keepRows {
			r.rows, r.many = nil, true
		}
	}
}

// median is the lower median of the evaluations per point.
func (r *nfeReport) median() int {
	n := 0
	keys := make([]int, 0, len(r.counts))
	for k, c := range r.counts {
		keys = append(keys, k)
		n += c
	}
	slices.Sort(keys)
	seen := 0
	for _, k := range keys {
		seen += r.counts[k]
		if 2*seen >= n {
			return k
		}
	}
	return 0
}

// lines returns the summary lines: the costliest points, and the points
// above slowFactor times the median when there are any; none when no point
// cost more than the median.
func (r *nfeReport) lines() []string {
	if len(r.top) == 0 {
		return nil
	}
	med := r.median()
	if r.top[0].nfe == med {
		return nil // every point cost the same: "evaluations" already says so
	}
	var b strings.Builder
	for i, p := range r.top {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "row %d (%d)", p.row, p.nfe)
	}
	out := []string{fmt.Sprintf("  costliest    %s evaluations; median %d", b.String(), med)}
	limit := slowFactor * med
	var slow []string
	count := 0
	if r.many {
		for k, c := range r.counts {
			if k > limit {
				count += c
			}
		}
		for _, p := range r.top {
			if p.nfe > limit {
				slow = append(slow, strconv.Itoa(p.row))
			}
		}
	} else {
		for _, p := range r.rows {
			if p.nfe > limit {
				count++
				if len(slow) < maxSlowRows {
					slow = append(slow, strconv.Itoa(p.row))
				}
			}
		}
	}
	if count > 0 {
		more := ""
		if count > len(slow) {
			more = fmt.Sprintf(" and %d more", count-len(slow))
		}
		out = append(out, fmt.Sprintf("  note: %d point(s) needed more than %d times the median evaluations (%d): rows %s%s; their log p is the least reliable (check them at a tighter -rtol/-atol, see docs/cli.md)",
			count, slowFactor, med, strings.Join(slow, ", "), more))
	}
	return out
}
