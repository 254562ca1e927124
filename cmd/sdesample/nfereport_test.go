package main

import (
	"strings"
	"testing"
)

// TestNFEReport: the median, the costliest points in order (ties in row
// order), and the note naming exactly the rows above slowFactor times the
// median; none when no row is.
func TestNFEReport(t *testing.T) {
	var r nfeReport
	nfe := []int{100, 110, 90, 320, 100, 95, 1000, 300, 105}
	for i, v := range nfe {
		r.add(10+i, v)
	}
	// sorted: 90 95 100 100 105 110 300 320 1000
	if m := r.median(); m != 105 {
		t.Fatalf("median %d, want 105", m)
	}
	got := r.lines()
	want0 := "  costliest    row 16 (1000), row 13 (320), row 17 (300), row 11 (110), row 18 (105) evaluations; median 105"
	if len(got) != 2 || got[0] != want0 {
		t.Fatalf("lines:\n%s\nwant first line\n%s", strings.Join(got, "\n"), want0)
	}
	// 320 and 1000 are above 3 x 105 = 315; 300 is not.
	if !strings.HasPrefix(got[1], "  note: 2 point(s) needed more than 3 times the median evaluations (105): rows 13, 16;") {
		t.Errorf("note: %s", got[1])
	}
	var q nfeReport
	for i, v := range []int{50, 60, 55} {
		q.add(i, v)
	}
	if l := q.lines(); len(l) != 1 {
		t.Errorf("no slow rows, got %q", l)
	}
	var same nfeReport
	for i := range 4 {
		same.add(i, 50)
	}
	if l := same.lines(); l != nil {
		t.Errorf("every point cost the same, got %q", l)
	}
	var e nfeReport
	if l := e.lines(); l != nil {
		t.Errorf("no points, got %q", l)
	}
}
