package ode

import (
	"math"
	"testing"
)

// rootedTree is a rooted tree for Butcher's order conditions: its children
// are indices (non-decreasing) into the list of smaller trees.
type rootedTree struct {
	order    int
	children []int
	gamma    float64
}

// rootedTrees lists every rooted tree with at most maxOrder nodes, sorted by
// order, each exactly once (children as non-decreasing index multisets).
func rootedTrees(maxOrder int) []rootedTree {
	trees := []rootedTree{{order: 1, gamma: 1}}
	for n := 2; n <= maxOrder; n++ {
		m := len(trees) // trees of order < n
		var rec func(rem, minIdx int, cur []int)
		rec = func(rem, minIdx int, cur []int) {
			if rem == 0 {
				g := float64(n)
				for _, c := range cur {
					g *= trees[c].gamma
				}
				trees = append(trees, rootedTree{order: n, children: append([]int(nil), cur...), gamma: g})
				return
			}
			for i := minIdx; i < m; i++ {
				if trees[i].order <= rem {
					rec(rem-trees[i].order, i, append(cur, i))
				}
			}
		}
		rec(n-1, 0, nil)
	}
	return trees
}

// extended returns the full (s+nx) x (s+nx) matrix A and nodes c of a
// tableau, extra dense-output stages included.
func extended(tb *Tableau) ([][]float64, []float64) {
	s := len(tb.B)
	S := s + len(tb.AExtra)
	a := make([][]float64, S)
	c := make([]float64, S)
	for i := range a {
		a[i] = make([]float64, S)
		var row []float64
		if i < s {
			row, c[i] = tb.A[i], tb.C[i]
		} else {
			row, c[i] = tb.AExtra[i-s], tb.CExtra[i-s]
		}
		copy(a[i], row)
	}
	return a, c
}

// elementaryWeights returns, per tree, the vector g(tau) with
// g_i = prod_{children u} (A g(u))_i, and the same with |A| (for rounding
// bounds).
func elementaryWeights(trees []rootedTree, a [][]float64) (g, gabs [][]float64) {
	S := len(a)
	g = make([][]float64, len(trees))
	gabs = make([][]float64, len(trees))
	for t, tr := range trees {
		g[t] = make([]float64, S)
		gabs[t] = make([]float64, S)
		for i := 0; i < S; i++ {
			v, va := 1.0, 1.0
			for _, ch := range tr.children {
				var sum, suma float64
				for j := 0; j < S; j++ {
					sum += a[i][j] * g[ch][j]
					suma += math.Abs(a[i][j]) * gabs[ch][j]
				}
				v *= sum
				va *= suma
			}
			g[t][i], gabs[t][i] = v, va
		}
	}
	return g, gabs
}

const eps = 0x1p-52

// orderResidual returns the largest ratio |sum_i w_i g_i(tau) -
// theta^rho/gamma(tau)| / tol over the trees of order <= p, and that tree.
// tol is 100 eps times sum |w_i| gabs_i: a bound of the floating-point
// evaluation (at most 16 stages and 8 levels of products, each step with
// relative error eps) plus the rounding of every coefficient to float64.
// The built-in tableaux stay below 0.03 of it; a coefficient wrong in its
// 10th digit exceeds it by orders of magnitude (TestOrderConditionsDetect).
func orderResidual(w []float64, trees []rootedTree, g, gabs [][]float64, p int, theta float64) (worst float64, tree int) {
	for k, tr := range trees {
		if tr.order > p {
			break
		}
		var sum, abs float64
		for i, wi := range w {
			sum += wi * g[k][i]
			abs += math.Abs(wi) * gabs[k][i]
		}
		want := math.Pow(theta, float64(tr.order)) / tr.gamma
		r := math.Abs(sum-want) / (100 * eps * max(abs, 1e-300))
		if r > worst {
			worst, tree = r, k
		}
	}
	return worst, tree
}

func checkOrder(t *testing.T, what string, w []float64, trees []rootedTree, g, gabs [][]float64, p int, theta float64) {
	t.Helper()
	worst, k := orderResidual(w, trees, g, gabs, p, theta)
	if worst > 1 {
		t.Errorf("%s (theta %g): order condition of tree %d (order %d, gamma %g) fails: residual %.3g x tolerance",
			what, theta, k, trees[k].order, trees[k].gamma, worst)
	}
}

func TestOrderConditionsDetect(t *testing.T) {
	// A relative change of 1e-10 in one coefficient of Dormand-Prince must
	// break an order condition.
	trees := rootedTrees(5)
	a, _ := extended(DormandPrince)
	a[4][2] *= 1 + 1e-10
	g, gabs := elementaryWeights(trees, a)
	b := make([]float64, len(a))
	copy(b, DormandPrince.B)
	if worst, _ := orderResidual(b, trees, g, gabs, 5, 1); worst <= 1 {
		t.Errorf("perturbed tableau passes the order conditions (worst %.3g)", worst)
	}
}

func TestRootedTreeCounts(t *testing.T) {
	// OEIS A000081: number of rooted trees with n nodes.
	want := []int{1, 1, 2, 4, 9, 20, 48, 115}
	trees := rootedTrees(8)
	count := make([]int, 9)
	for _, tr := range trees {
		count[tr.order]++
	}
	for n := 1; n <= 8; n++ {
		if count[n] != want[n-1] {
			t.Errorf("order %d: %d trees, want %d", n, count[n], want[n-1])
		}
	}
}

func TestTableaux(t *testing.T) {
	trees := rootedTrees(8)
	for _, tb := range Tableaux() {
		t.Run(tb.Name, func(t *testing.T) {
			if _, err := compile(tb); err != nil {
				t.Fatal(err)
			}
			got, err := TableauByName(tb.Name)
			if err != nil || got != tb {
				t.Errorf("TableauByName(%q) = %v, %v", tb.Name, got, err)
			}
			a, c := extended(tb)
			s := len(tb.B)
			// Row sums of A equal c (extra stages included): exact up to
			// the rounding of a sum of at most 16 terms (16 eps of the
			// absolute sum).
			for i := range a {
				var sum, abs float64
				for _, v := range a[i] {
					sum += v
					abs += math.Abs(v)
				}
				if math.Abs(sum-c[i]) > 16*eps*max(abs, 1) {
					t.Errorf("row %d: sum A = %.17g, c = %.17g", i, sum, c[i])
				}
			}
			g, gabs := elementaryWeights(trees, a)
			pad := func(v []float64) []float64 {
				w := make([]float64, len(a))
				copy(w, v)
				return w
			}
			checkOrder(t, "B", pad(tb.B), trees, g, gabs, tb.Order, 1)
			if tb.BHat != nil {
				p := tb.EmbeddedOrder
				if tb.BHat3 != nil {
					// DOP853: the controller exponent assumes order 7 for
					// the combined estimate; BHat itself is of order 5 and
					// BHat3 of order 3 (HNW I, II.10).
					p = 5
					checkOrder(t, "BHat3", pad(tb.BHat3), trees, g, gabs, 3, 1)
				}
				checkOrder(t, "BHat", pad(tb.BHat), trees, g, gabs, p, 1)
				// The embedded solution must not be of the full order,
				// or the estimate would be of a higher order than claimed.
				var sum float64
				k := len(trees)
				for i, tr := range trees {
					if tr.order == p+1 {
						k = i
						break
					}
				}
				for i, v := range pad(tb.BHat) {
					sum += v * g[k][i]
				}
				if math.Abs(sum-1/trees[k].gamma) < 1e-6 {
					t.Errorf("BHat satisfies the first condition of order %d: not an order-%d estimate", p+1, p)
				}
			}
			if tb.FSAL {
				for j := 0; j < s-1; j++ {
					if tb.A[s-1][j] != tb.B[j] {
						t.Errorf("FSAL: A[s-1][%d] = %g != B = %g", j, tb.A[s-1][j], tb.B[j])
					}
				}
			}
			sumB := 0.0
			for _, v := range tb.B {
				sumB += v
			}
			// Weights sum to 1 (the order-1 condition) to the rounding of the
			// sum.
			if math.Abs(sumB-1) > 16*eps*float64(s) {
				t.Errorf("sum B = %.17g", sumB)
			}
			if tb.Interp == nil {
				t.Fatal("no dense output")
			}
			weights := func(theta float64) []float64 {
				w := make([]float64, len(tb.Interp))
				for i, row := range tb.Interp {
					p := 0.0
					for q := len(row) - 1; q >= 0; q-- {
						p = p*theta + row[q]
					}
					w[i] = p * theta
				}
				return w
			}
			for _, theta := range []float64{0.1, 0.37, 0.5, 0.81, 1} {
				checkOrder(t, "Interp", weights(theta), trees, g, gabs, tb.InterpOrder, theta)
			}
			// At theta = 1 the interpolant is y_new: b_i(1) = B_i. The
			// coefficients of the monomial form reach ~1e3 (DOP853), so
			// allow 1000 eps times the absolute row sum.
			w1 := weights(1)
			for i, row := range tb.Interp {
				want := 0.0
				if i < s {
					want = tb.B[i]
				}
				abs := 0.0
				for _, v := range row {
					abs += math.Abs(v)
				}
				if math.Abs(w1[i]-want) > 1000*eps*max(abs, 1) {
					t.Errorf("b_%d(1) = %.17g, want B = %.17g", i, w1[i], want)
				}
			}
			// The derivative at theta = 0 is f(t, y): b_i'(0) = [i == 0].
			for i, row := range tb.Interp {
				want := 0.0
				if i == 0 {
					want = 1
				}
				if math.Abs(row[0]-want) > 4*eps {
					t.Errorf("b_%d'(0) = %.17g, want %g", i, row[0], want)
				}
			}
		})
	}
}

func TestTableauByNameUnknown(t *testing.T) {
	if _, err := TableauByName("rk45"); err == nil {
		t.Error("TableauByName(rk45): no error")
	}
	if tb, err := TableauByName("DOPRI5"); err != nil || tb != DormandPrince {
		t.Errorf("TableauByName is case insensitive: got %v, %v", tb, err)
	}
}

func TestCompileRejectsBadTableaux(t *testing.T) {
	bad := []*Tableau{
		{Name: "empty"},
		{Name: "implicit", A: [][]float64{{1}}, B: []float64{1}, C: []float64{1}, Order: 1},
		{Name: "short", A: [][]float64{{}, {}}, B: []float64{0.5, 0.5}, C: []float64{0}, Order: 1},
		{Name: "fsal", A: [][]float64{{}, {0.5}}, B: []float64{1, 0}, C: []float64{0, 1}, FSAL: true, Order: 1},
		{Name: "bhat", A: [][]float64{{}}, B: []float64{1}, BHat: []float64{1, 0}, C: []float64{0}, Order: 1, EmbeddedOrder: 1},
	}
	for _, tb := range bad {
		if _, err := compile(tb); err == nil {
			t.Errorf("compile(%s): no error", tb.Name)
		}
	}
}
