package ode

import (
	"fmt"
	"math"
	"strings"
)

// Tableau is an explicit Runge-Kutta method written as data (a Butcher tableau
// with an optional embedded pair and an optional continuous extension). One
// generic stepper runs every tableau.
//
// Stage i (0-based) of a step of size h from (t, y) is
//
//	k_i = f(t + C[i] h, y + h sum_{j<i} A[i][j] k_j)
//
// and the step gives y_new = y + h sum_i B[i] k_i. With an embedded pair the
// local error estimate is h sum_i (B[i]-BHat[i]) k_i.
type Tableau struct {
	Name string
	// A is strictly lower triangular: row i holds at least i entries (entries
	// at and above the diagonal, if present, must be zero).
	A [][]float64
	// B are the weights of the propagated solution, BHat those of the embedded
	// solution (nil: no embedded pair, fixed steps only), C the nodes.
	B, BHat, C []float64
	// Order is the order of B; EmbeddedOrder is the order that the step-size
	// controller assumes for the error estimate (exponent 1/(EmbeddedOrder+1)).
	Order, EmbeddedOrder int
	// FSAL (first same as last): the last stage is f(t+h, y_new), that is
	// A[s-1] = B, B[s-1] = 0 and C[s-1] = 1, and it is reused as the first
	// stage of the next step.
	FSAL bool

	// BHat3, when not nil, selects Hairer's DOP853 error estimate: with
	// e5 = sum (B-BHat) k / sc and e3 = sum (B-BHat3) k / sc,
	// err = |h| |e5|^2 / sqrt(N (|e5|^2 + 0.01 |e3|^2)).
	BHat3 []float64

	// Continuous extension (dense output). Stages s.. s+len(AExtra)-1 are
	// extra stages computed only when a step has output times inside it:
	// k_{s+e} = f(t + CExtra[e] h, y + h sum_j AExtra[e][j] k_j), with j over
	// all earlier stages (AExtra[e] has at least s+e entries).
	AExtra [][]float64
	CExtra []float64
	// Interp has one row per stage (s + len(AExtra) rows). Row i holds the
	// coefficients of theta^1, theta^2, ... of the weight polynomial b_i, and
	//
	//	y(t + theta h) = y + h sum_i b_i(theta) k_i,  0 <= theta <= 1.
	Interp [][]float64
	// InterpOrder is the order of the continuous extension: its local error
	// is O(h^(InterpOrder+1)) for every theta.
	InterpOrder int
}

// String returns the name.
func (tb *Tableau) String() string {
	if tb == nil {
		return "<nil>"
	}
	return tb.Name
}

// Stages is the number of stages of one step (extra dense-output stages not
// counted).
func (tb *Tableau) Stages() int { return len(tb.B) }

// Adaptive reports whether the tableau has an embedded error estimate.
func (tb *Tableau) Adaptive() bool { return tb.BHat != nil }

// hermite returns the interpolant of the cubic Hermite polynomial through
// (y, f(t,y)) and (y_new, f(t+h,y_new)) written as stage weights:
// y(theta) - y = h01 (y_new - y) + h h10 f0 + h h11 f1 with
// h01 = 3th^2-2th^3, h10 = th-2th^2+th^3, h11 = -th^2+th^3, and y_new - y =
// h sum b_i k_i. f1 is stage f1 (the last stage of an FSAL tableau, or an
// extra stage).
func hermite(b []float64, nrows, f1 int) [][]float64 {
	p := make([][]float64, nrows)
	for i := range p {
		p[i] = make([]float64, 3)
		if i < len(b) {
			p[i][1] = 3 * b[i]
			p[i][2] = -2 * b[i]
		}
	}
	p[0][0] += 1
	p[0][1] += -2
	p[0][2] += 1
	p[f1][1] += -1
	p[f1][2] += 1
	return p
}

// withHermite completes a tableau with a cubic Hermite continuous extension.
// A tableau that is not FSAL gets one extra stage f(t+h, y_new).
func withHermite(tb *Tableau) *Tableau {
	s := len(tb.B)
	if tb.FSAL {
		tb.Interp = hermite(tb.B, s, s-1)
	} else {
		row := make([]float64, s)
		copy(row, tb.B)
		tb.AExtra = [][]float64{row}
		tb.CExtra = []float64{1}
		tb.Interp = hermite(tb.B, s+1, s)
	}
	tb.InterpOrder = min(tb.Order, 3)
	return tb
}

// Euler is the explicit Euler method (order 1, fixed step), with a cubic
// Hermite dense output.
var Euler = withHermite(&Tableau{
	Name:  "euler",
	A:     [][]float64{{}},
	B:     []float64{1},
	C:     []float64{0},
	Order: 1,
})

// Heun is Heun's second-order method (the explicit trapezoidal rule; fixed
// step), with a cubic Hermite dense output.
var Heun = withHermite(&Tableau{
	Name:  "heun",
	A:     [][]float64{{}, {1}},
	B:     []float64{0.5, 0.5},
	C:     []float64{0, 1},
	Order: 2,
})

// Midpoint is the explicit midpoint method (order 2, fixed step), with a
// cubic Hermite dense output.
var Midpoint = withHermite(&Tableau{
	Name:  "midpoint",
	A:     [][]float64{{}, {0.5}},
	B:     []float64{0, 1},
	C:     []float64{0, 0.5},
	Order: 2,
})

// RK4 is the classic fourth-order Runge-Kutta method (fixed step), with a
// cubic Hermite dense output.
var RK4 = withHermite(&Tableau{
	Name:  "rk4",
	A:     [][]float64{{}, {0.5}, {0, 0.5}, {0, 0, 1}},
	B:     []float64{1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6},
	C:     []float64{0, 0.5, 0.5, 1},
	Order: 4,
})

// BogackiShampine is the Bogacki-Shampine 3(2) FSAL pair (Bogacki and
// Shampine 1989), with the cubic Hermite dense output (as scipy's RK23).
var BogackiShampine = withHermite(&Tableau{
	Name: "bosh3",
	A: [][]float64{
		{},
		{1.0 / 2},
		{0, 3.0 / 4},
		{2.0 / 9, 1.0 / 3, 4.0 / 9},
	},
	B:             []float64{2.0 / 9, 1.0 / 3, 4.0 / 9, 0},
	BHat:          []float64{7.0 / 24, 1.0 / 4, 1.0 / 3, 1.0 / 8},
	C:             []float64{0, 1.0 / 2, 3.0 / 4, 1},
	Order:         3,
	EmbeddedOrder: 2,
	FSAL:          true,
})

// DormandPrince is the Dormand-Prince 5(4) FSAL pair (Dormand and Prince
// 1980) with Shampine's (1986) quartic continuous extension, as in Hairer's
// DOPRI5 and scipy's RK45.
var DormandPrince = &Tableau{
	Name: "dopri5",
	A: [][]float64{
		{},
		{1.0 / 5},
		{3.0 / 40, 9.0 / 40},
		{44.0 / 45, -56.0 / 15, 32.0 / 9},
		{19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
		{9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
		{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
	},
	B:             []float64{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0},
	BHat:          []float64{5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40},
	C:             []float64{0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1},
	Order:         5,
	EmbeddedOrder: 4,
	FSAL:          true,
	Interp: [][]float64{
		{1, -8048581381.0 / 2820520608, 8663915743.0 / 2820520608, -12715105075.0 / 11282082432},
		{0, 0, 0, 0},
		{0, 131558114200.0 / 32700410799, -68118460800.0 / 10900136933, 87487479700.0 / 32700410799},
		{0, -1754552775.0 / 470086768, 14199869525.0 / 1410260304, -10690763975.0 / 1880347072},
		{0, 127303824393.0 / 49829197408, -318862633887.0 / 49829197408, 701980252875.0 / 199316789632},
		{0, -282668133.0 / 205662961, 2019193451.0 / 616988883, -1453857185.0 / 822651844},
		{0, 40617522.0 / 29380423, -110615467.0 / 29380423, 69997945.0 / 29380423},
	},
	InterpOrder: 4,
}

// Tsitouras is Tsitouras' 5(4) FSAL pair (Tsitouras 2011) with its quartic
// continuous extension; coefficients as in OrdinaryDiffEq.jl and scipy.
var Tsitouras = &Tableau{
	Name: "tsit5",
	A: [][]float64{
		{},
		{0.161},
		{-0.008480655492356989, 0.335480655492357},
		{2.8971530571054935, -6.359448489975075, 4.3622954328695815},
		{5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525},
		{5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383},
		{0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774},
	},
	B: []float64{0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774, 0},
	BHat: []float64{0.09468075576583945, 0.009183565540343254, 0.4877705284247616, 1.234297566930479,
		-2.7077123499835256, 1.866628418170587, 0.015151515151515152},
	C:             []float64{0, 0.161, 0.327, 0.9, 0.9800255409045097, 1, 1},
	Order:         5,
	EmbeddedOrder: 4,
	FSAL:          true,
	Interp: [][]float64{
		{1.0, -2.763706197274826, 2.9132554618219126, -1.0530884977290216},
		{0, 0.13169999999999998, -0.2234, 0.1017},
		{0, 3.9302962368947516, -5.941033872131505, 2.490627285651253},
		{0, -12.411077166933676, 30.33818863028232, -16.548102889244902},
		{0, 37.50931341651104, -88.1789048947664, 47.37952196281928},
		{0, -27.896526289197286, 65.09189467479366, -34.87065786149661},
		{0, 1.5, -4, 2.5},
	},
	InterpOrder: 4,
}

// DOP853 is Dormand and Prince's explicit Runge-Kutta method of order 8 as in
// Hairer's DOP853 (HNW I, II.10): 12 stages plus the FSAL evaluation
// f(t+h, y_new), Hairer's combined 5th/3rd order error estimate, and the
// 7th-order continuous extension with three extra stages.
var DOP853 = newDOP853()

func newDOP853() *Tableau {
	const s = 13
	c := []float64{0,
		0.526001519587677318785587544488e-01,
		0.789002279381515978178381316732e-01,
		0.118350341907227396726757197510e+00,
		0.281649658092772603273242802490e+00,
		0.333333333333333333333333333333e+00,
		0.25e+00,
		0.307692307692307692307692307692e+00,
		0.651282051282051282051282051282e+00,
		0.6e+00,
		0.857142857142857142857142857142e+00,
		1, 1}
	a := make([][]float64, s)
	for i := range a {
		a[i] = make([]float64, i)
	}
	// Rows in Hairer's 1-based numbering: a[i][j] is a_{i+1,j+1}.
	set := func(i int, js []int, v []float64) {
		for n, j := range js {
			a[i-1][j-1] = v[n]
		}
	}
	set(2, []int{1}, []float64{5.26001519587677318785587544488e-2})
	set(3, []int{1, 2}, []float64{1.97250569845378994544595329183e-2, 5.91751709536136983633785987549e-2})
	set(4, []int{1, 3}, []float64{2.95875854768068491816892993775e-2, 8.87627564304205475450678981324e-2})
	set(5, []int{1, 3, 4}, []float64{2.41365134159266685502369798665e-1, -8.84549479328286085344864962717e-1,
		9.24834003261792003115737966543e-1})
	set(6, []int{1, 4, 5}, []float64{3.7037037037037037037037037037e-2, 1.70828608729473871279604482173e-1,
		1.25467687566822425016691814123e-1})
	set(7, []int{1, 4, 5, 6}, []float64{3.7109375e-2, 1.70252211019544039314978060272e-1,
		6.02165389804559606850219397283e-2, -1.7578125e-2})
	set(8, []int{1, 4, 5, 6, 7}, []float64{3.70920001185047927108779319836e-2, 1.70383925712239993810214054705e-1,
		1.07262030446373284651809199168e-1, -1.53194377486244017527936158236e-2, 8.27378916381402288758473766002e-3})
	set(9, []int{1, 4, 5, 6, 7, 8}, []float64{6.24110958716075717114429577812e-1, -3.36089262944694129406857109825e0,
		-8.68219346841726006818189891453e-1, 2.75920996994467083049415600797e1, 2.01540675504778934086186788979e1,
		-4.34898841810699588477366255144e1})
	set(10, []int{1, 4, 5, 6, 7, 8, 9}, []float64{4.77662536438264365890433908527e-1, -2.48811461997166764192642586468e0,
		-5.90290826836842996371446475743e-1, 2.12300514481811942347288949897e1, 1.52792336328824235832596922938e1,
		-3.32882109689848629194453265587e1, -2.03312017085086261358222928593e-2})
	set(11, []int{1, 4, 5, 6, 7, 8, 9, 10}, []float64{-9.3714243008598732571704021658e-1, 5.18637242884406370830023853209e0,
		1.09143734899672957818500254654e0, -8.14978701074692612513997267357e0, -1.85200656599969598641566180701e1,
		2.27394870993505042818970056734e1, 2.49360555267965238987089396762e0, -3.0467644718982195003823669022e0})
	set(12, []int{1, 4, 5, 6, 7, 8, 9, 10, 11}, []float64{2.27331014751653820792359768449e0, -1.05344954667372501984066689879e1,
		-2.00087205822486249909675718444e0, -1.79589318631187989172765950534e1, 2.79488845294199600508499808837e1,
		-2.85899827713502369474065508674e0, -8.87285693353062954433549289258e0, 1.23605671757943030647266201528e1,
		6.43392746015763530355970484046e-1})
	b := make([]float64, s)
	for n, j := range []int{1, 6, 7, 8, 9, 10, 11, 12} {
		b[j-1] = []float64{5.42937341165687622380535766363e-2, 4.45031289275240888144113950566e0,
			1.89151789931450038304281599044e0, -5.8012039600105847814672114227e0, 3.1116436695781989440891606237e-1,
			-1.52160949662516078556178806805e-1, 2.01365400804030348374776537501e-1, 4.47106157277725905176885569043e-2}[n]
	}
	copy(a[12], b) // FSAL stage: f(t+h, y_new)
	// Embedded 5th-order weights: B - ER.
	er := map[int]float64{1: 0.1312004499419488073250102996e-01, 6: -0.1225156446376204440720569753e+01,
		7: -0.4957589496572501915214079952e+00, 8: 0.1664377182454986536961530415e+01,
		9: -0.3503288487499736816886487290e+00, 10: 0.3341791187130174790297318841e+00,
		11: 0.8192320648511571246570742613e-01, 12: -0.2235530786388629525884427845e-01}
	bhat := make([]float64, s)
	copy(bhat, b)
	for j, v := range er {
		bhat[j-1] -= v
	}
	bhh := make([]float64, s)
	bhh[0] = 0.244094488188976377952755905512e+00
	bhh[8] = 0.733846688281611857341361741547e+00
	bhh[11] = 0.220588235294117647058823529412e-01

	// Extra stages 14, 15, 16 (1-based) for the dense output.
	ax := [][]float64{make([]float64, 13), make([]float64, 14), make([]float64, 15)}
	setx := func(i int, js []int, v []float64) {
		for n, j := range js {
			ax[i-14][j-1] = v[n]
		}
	}
	setx(14, []int{1, 7, 8, 9, 10, 11, 12, 13}, []float64{5.61675022830479523392909219681e-2,
		2.53500210216624811088794765333e-1, -2.46239037470802489917441475441e-1, -1.24191423263816360469010140626e-1,
		1.5329179827876569731206322685e-1, 8.20105229563468988491666602057e-3, 7.56789766054569976138603589584e-3,
		-8.298e-3})
	setx(15, []int{1, 6, 7, 8, 11, 12, 13, 14}, []float64{3.18346481635021405060768473261e-2,
		2.83009096723667755288322961402e-2, 5.35419883074385676223797384372e-2, -5.49237485713909884646569340306e-2,
		-1.08347328697249322858509316994e-4, 3.82571090835658412954920192323e-4, -3.40465008687404560802977114492e-4,
		1.41312443674632500278074618366e-1})
	setx(16, []int{1, 6, 7, 8, 9, 13, 14, 15}, []float64{-4.28896301583791923408573538692e-1,
		-4.69762141536116384314449447206e0, 7.68342119606259904184240953878e0, 4.06898981839711007970213554331e0,
		3.56727187455281109270669543021e-1, -1.39902416515901462129418009734e-3, 2.9475147891527723389556272149e0,
		-9.15095847217987001081870187138e0})
	cx := []float64{0.1, 0.2, 0.777777777777777777777777777778e+00}

	// Hairer's contd8 coefficients d4j..d7j (j = 1, 6..16).
	dj := []int{1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	d := [4][]float64{
		{-0.84289382761090128651353491142e+01, 0.56671495351937776962531783590e+00, -0.30689499459498916912797304727e+01,
			0.23846676565120698287728149680e+01, 0.21170345824450282767155149946e+01, -0.87139158377797299206789907490e+00,
			0.22404374302607882758541771650e+01, 0.63157877876946881815570249290e+00, -0.88990336451333310820698117400e-01,
			0.18148505520854727256656404962e+02, -0.91946323924783554000451984436e+01, -0.44360363875948939664310572000e+01},
		{0.10427508642579134603413151009e+02, 0.24228349177525818288430175319e+03, 0.16520045171727028198505394887e+03,
			-0.37454675472269020279518312152e+03, -0.22113666853125306036270938578e+02, 0.77334326684722638389603898808e+01,
			-0.30674084731089398182061213626e+02, -0.93321305264302278729567221706e+01, 0.15697238121770843886131091075e+02,
			-0.31139403219565177677282850411e+02, -0.93529243588444783865713862664e+01, 0.35816841486394083752465898540e+02},
		{0.19985053242002433820987653617e+02, -0.38703730874935176555105901742e+03, -0.18917813819516756882830838328e+03,
			0.52780815920542364900561016686e+03, -0.11573902539959630126141871134e+02, 0.68812326946963000169666922661e+01,
			-0.10006050966910838403183860980e+01, 0.77771377980534432092869265740e+00, -0.27782057523535084065932004339e+01,
			-0.60196695231264120758267380846e+02, 0.84320405506677161018159903784e+02, 0.11992291136182789328035130030e+02},
		{-0.25693933462703749003312586129e+02, -0.15418974869023643374053993627e+03, -0.23152937917604549567536039109e+03,
			0.35763911791061412378285349910e+03, 0.93405324183624310003907691704e+02, -0.37458323136451633156875139351e+02,
			0.10409964950896230045147246184e+03, 0.29840293426660503123344363579e+02, -0.43533456590011143754432175058e+02,
			0.96324553959188282948394950600e+02, -0.39177261675615439165231486172e+02, -0.14972683625798562581422125276e+03},
	}
	// Hairer's dense output (contd8), with u = y_new - y and f0 = k_1,
	// f1 = k_13:
	//   y(th) = y + th(r2 + (1-th)(r3 + th(r4 + (1-th)(r5 + th(r6 + (1-th)(r7 + th r8))))))
	// r2 = u, r3 = h f0 - u, r4 = 2u - h(f0 + f1), r5..r8 = h sum_j d_{4..7,j} k_j.
	// Every r is h times a combination of the 16 stages; expand the nested
	// form into monomials theta^1..theta^7 per stage.
	const ns = 16
	var r [7][ns]float64
	for j := 0; j < s; j++ {
		r[0][j] = b[j]
		r[1][j] = -b[j]
		r[2][j] = 2 * b[j]
	}
	r[1][0] += 1
	r[2][0] -= 1
	r[2][12] -= 1
	for m := 0; m < 4; m++ {
		for n, j := range dj {
			r[3+m][j-1] = d[m][n]
		}
	}
	interp := make([][]float64, ns)
	for j := 0; j < ns; j++ {
		// p is a polynomial in theta, p[q] the coefficient of theta^q.
		var p [9]float64
		p[0] = r[6][j]
		for m := 5; m >= 0; m-- {
			if m%2 == 1 { // multiply by theta, then add r[m]
				copy(p[1:], p[:8])
				p[0] = 0
			} else { // multiply by (1 - theta)
				var q [9]float64
				for i := 0; i < 8; i++ {
					q[i] += p[i]
					q[i+1] -= p[i]
				}
				p = q
			}
			p[0] += r[m][j]
		}
		// Final multiplication by theta.
		interp[j] = make([]float64, 7)
		copy(interp[j], p[:7])
	}
	return &Tableau{
		Name:          "dop853",
		A:             a,
		B:             b,
		BHat:          bhat,
		BHat3:         bhh,
		C:             c,
		Order:         8,
		EmbeddedOrder: 7,
		FSAL:          true,
		AExtra:        ax,
		CExtra:        cx,
		Interp:        interp,
		InterpOrder:   7,
	}
}

// TableauByName returns the built-in tableau with the given name: "euler",
// "heun", "midpoint", "rk4", "bosh3", "dopri5", "tsit5", "dop853" (case
// insensitive).
func TableauByName(name string) (*Tableau, error) {
	switch strings.ToLower(name) {
	case "euler":
		return Euler, nil
	case "heun":
		return Heun, nil
	case "midpoint":
		return Midpoint, nil
	case "rk4":
		return RK4, nil
	case "bosh3":
		return BogackiShampine, nil
	case "dopri5":
		return DormandPrince, nil
	case "tsit5":
		return Tsitouras, nil
	case "dop853":
		return DOP853, nil
	}
	return nil, fmt.Errorf("ode: unknown tableau %q (want euler, heun, midpoint, rk4, bosh3, dopri5, tsit5 or dop853)", name)
}

// Tableaux lists the built-in tableaux.
func Tableaux() []*Tableau {
	return []*Tableau{Euler, Heun, Midpoint, RK4, BogackiShampine, DormandPrince, Tsitouras, DOP853}
}

// term is one nonzero coefficient of a linear combination of stages.
type term struct {
	j int
	v float64
}

// compiled is a validated tableau in the form the stepper uses.
type compiled struct {
	tab    *Tableau
	s      int       // stages per step
	a      [][]term  // stage i input: sum over a[i]
	c      []float64 // nodes of all stages, extras included
	b      []term
	e      []term // B - BHat
	e3     []term // B - BHat3
	nx     int    // extra stages
	ax     [][]term
	f1     int // index of an extra stage that is f(t+h, y_new), or -1
	interp [][]float64
	iterms []int // stages with a nonzero interpolant row
	errK   float64
}

func nonzero(v []float64) []term {
	var ts []term
	for j, x := range v {
		if x != 0 {
			ts = append(ts, term{j, x})
		}
	}
	return ts
}

func compile(tb *Tableau) (*compiled, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("ode: tableau %q: "+format, append([]any{tb.Name}, args...)...)
	}
	s := len(tb.B)
	if s == 0 {
		return nil, bad("no stages")
	}
	if len(tb.A) != s || len(tb.C) != s {
		return nil, bad("len(A)=%d, len(C)=%d, want %d", len(tb.A), len(tb.C), s)
	}
	for i, row := range tb.A {
		if len(row) < i {
			return nil, bad("row %d of A has %d entries, want at least %d", i, len(row), i)
		}
		for j := i; j < len(row); j++ {
			if row[j] != 0 {
				return nil, bad("A[%d][%d] != 0: not explicit", i, j)
			}
		}
	}
	ct := &compiled{tab: tb, s: s, f1: -1}
	if tb.BHat != nil {
		if len(tb.BHat) != s {
			return nil, bad("len(BHat)=%d, want %d", len(tb.BHat), s)
		}
		if tb.EmbeddedOrder <= 0 {
			return nil, bad("EmbeddedOrder must be > 0")
		}
		e := make([]float64, s)
		for i := range e {
			e[i] = tb.B[i] - tb.BHat[i]
		}
		ct.e = nonzero(e)
		ct.errK = float64(tb.EmbeddedOrder + 1)
		if tb.BHat3 != nil {
			if len(tb.BHat3) != s {
				return nil, bad("len(BHat3)=%d, want %d", len(tb.BHat3), s)
			}
			for i := range e {
				e[i] = tb.B[i] - tb.BHat3[i]
			}
			ct.e3 = nonzero(e)
		}
	}
	if tb.FSAL {
		if tb.B[s-1] != 0 || tb.C[s-1] != 1 {
			return nil, bad("FSAL needs B[s-1] = 0 and C[s-1] = 1")
		}
		for j := 0; j < s-1; j++ {
			if tb.A[s-1][j] != tb.B[j] {
				return nil, bad("FSAL needs A[s-1] = B")
			}
		}
	}
	ct.a = make([][]term, s)
	for i, row := range tb.A {
		ct.a[i] = nonzero(row[:i])
	}
	ct.b = nonzero(tb.B)
	ct.c = append([]float64(nil), tb.C...)
	if tb.Interp != nil {
		nx := len(tb.AExtra)
		if len(tb.CExtra) != nx {
			return nil, bad("len(CExtra)=%d, want %d", len(tb.CExtra), nx)
		}
		if len(tb.Interp) != s+nx {
			return nil, bad("Interp has %d rows, want %d", len(tb.Interp), s+nx)
		}
		deg := len(tb.Interp[0])
		for i, row := range tb.Interp {
			if len(row) != deg {
				return nil, bad("Interp row %d has %d entries, want %d", i, len(row), deg)
			}
			if !allZero(row) {
				ct.iterms = append(ct.iterms, i)
			}
		}
		ct.nx = nx
		ct.interp = tb.Interp
		for e, row := range tb.AExtra {
			if len(row) < s+e {
				return nil, bad("AExtra row %d has %d entries, want at least %d", e, len(row), s+e)
			}
			ct.ax = append(ct.ax, nonzero(row[:s+e]))
			ct.c = append(ct.c, tb.CExtra[e])
			if ct.f1 < 0 && tb.CExtra[e] == 1 && !tb.FSAL && sameAsB(row[:s+e], tb.B) {
				ct.f1 = s + e
			}
		}
	}
	for _, v := range ct.c {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, bad("non-finite node")
		}
	}
	return ct, nil
}

func allZero(v []float64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// sameAsB reports whether row (over all earlier stages) combines exactly the
// weights B, so that the stage is f(t+h, y_new).
func sameAsB(row, b []float64) bool {
	for j, x := range row {
		w := 0.0
		if j < len(b) {
			w = b[j]
		}
		if x != w {
			return false
		}
	}
	return true
}
