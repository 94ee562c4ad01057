package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randTensor returns a float64 node with N(0,1) entries.
func randNode(g *G.ExprGraph, rng *rand.Rand, name string, shape ...int) *G.Node {
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

// gradCheck compares the analytic gradients of cost = Σ out⊙R (R random,
// non-uniform, which exposes reductions with wrong gradients) with central
// finite differences for every element of every wrt node.
func gradCheck(t *testing.T, seed uint64, tol float64, build func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	g := G.NewGraph()
	out, wrt := build(g, rng)
	cost := out
	if !out.IsScalar() {
		r := randNode(g, rng, "R", out.Shape()...)
		cost = G.Must(G.Sum(G.Must(G.HadamardProd(out, r))))
	}
	if _, err := G.Grad(cost, wrt...); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g, G.BindDualValues(wrt...))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	analytic := make([][]float64, len(wrt))
	for i, n := range wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatal(err)
		}
		analytic[i] = append([]float64(nil), gv.Data().([]float64)...)
	}
	m.Reset()
	eval := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return cost.Value().Data().(float64)
	}
	const h = 1e-6
	maxErr := 0.0
	for i, n := range wrt {
		data := n.Value().Data().([]float64)
		for k := range data {
			old := data[k]
			data[k] = old + h
			fp := eval()
			data[k] = old - h
			fm := eval()
			data[k] = old
			num := (fp - fm) / (2 * h)
			e := math.Abs(num-analytic[i][k]) / math.Max(1, math.Abs(num))
			maxErr = math.Max(maxErr, e)
			if e > tol {
				t.Fatalf("%s[%d]: analytic %.9g, finite difference %.9g", n.Name(), k, analytic[i][k], num)
			}
		}
	}
	t.Logf("max relative gradient error %.3g", maxErr)
}

func TestConvGradients(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		cin, cout, k, s, p, d int
		h                     int
		depthwise             bool
	}{
		{"k3s1p1", 2, 3, 3, 1, 1, 1, 5, false},
		{"k3s2p1", 2, 3, 3, 2, 1, 1, 6, false},
		{"k1s1p0", 3, 2, 1, 1, 0, 1, 4, false},
		{"k1s2p0", 3, 2, 1, 2, 0, 1, 5, false},
		{"k3d2p2", 2, 2, 3, 1, 2, 2, 5, false},
		{"dw_k3s1p1", 3, 3, 3, 1, 1, 1, 5, true},
		{"dw_k5s2p2", 2, 2, 5, 2, 2, 1, 7, true},
		{"dw_k3d2p2", 2, 2, 3, 1, 2, 2, 6, true},
		{"dw_k3s2d2p2", 2, 2, 3, 2, 2, 2, 7, true},
		// Inputs narrower than the kernel: some taps lie wholly in the padding.
		{"dw_k5s1p2_1x2", 2, 2, 5, 1, 2, 1, 1, true},
		{"dw_k5s2p2_2x3", 2, 2, 5, 2, 2, 1, 2, true},
		{"k5s1p2_1x2", 2, 3, 5, 1, 2, 1, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gradCheck(t, 1, 1e-6, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
				x := randNode(g, rng, "x", 2, tc.cin, tc.h, tc.h+1)
				var w, y *G.Node
				var err error
				if tc.depthwise {
					w = randNode(g, rng, "w", tc.cin, 1, tc.k, tc.k)
					y, err = DepthwiseConv2D(x, w, tc.s, tc.p, tc.d)
				} else {
					w = randNode(g, rng, "w", tc.cout, tc.cin, tc.k, tc.k)
					y, err = Conv2D(x, w, tc.s, tc.p, tc.d)
				}
				if err != nil {
					t.Fatal(err)
				}
				return y, []*G.Node{x, w}
			})
		})
	}
}

// naiveConv is the textbook 6-loop convolution used as the forward reference.
func naiveConv(x []float64, B, C, H, W int, w []float64, Cout, K, s, p, d int, depthwise bool) ([]float64, int, int) {
	Ho, Wo := outSize(H, K, s, p, d), outSize(W, K, s, p, d)
	y := make([]float64, B*Cout*Ho*Wo)
	for b := 0; b < B; b++ {
		for co := 0; co < Cout; co++ {
			for oy := 0; oy < Ho; oy++ {
				for ox := 0; ox < Wo; ox++ {
					var sum float64
					for ci := 0; ci < C; ci++ {
						if depthwise && ci != co {
							continue
						}
						for i := 0; i < K; i++ {
							for j := 0; j < K; j++ {
								iy, ix := oy*s-p+i*d, ox*s-p+j*d
								if iy < 0 || iy >= H || ix < 0 || ix >= W {
									continue
								}
								wi := ((co*C+ci)*K+i)*K + j
								if depthwise {
									wi = (co*K+i)*K + j
								}
								sum += w[wi] * x[((b*C+ci)*H+iy)*W+ix]
							}
						}
					}
					y[((b*Cout+co)*Ho+oy)*Wo+ox] = sum
				}
			}
		}
	}
	return y, Ho, Wo
}

func TestConvForwardReference(t *testing.T) {
	for _, tc := range []struct {
		name       string
		k, s, p, d int
		depthwise  bool
	}{
		{"conv_k3s1p1", 3, 1, 1, 1, false},
		{"conv_k3s2p1", 3, 2, 1, 1, false},
		{"conv_k1", 1, 1, 0, 1, false},
		{"dw_k3s1p1", 3, 1, 1, 1, true},
		{"dw_k5s2p2d2", 5, 2, 4, 2, true},
		{"dw_k5s1p2_tiny", 5, 1, 2, 1, true},
		{"dw_k5s2p2_tiny", 5, 2, 2, 1, true},
		{"conv_k5s1p2_tiny", 5, 1, 2, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			B, C, H, W, Cout := 2, 3, 9, 8, 4
			if strings.HasSuffix(tc.name, "_tiny") {
				H, W = 2, 1 // narrower than the kernel
			}
			if tc.depthwise {
				Cout = C
			}
			x := make([]float64, B*C*H*W)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			wn := Cout * C * tc.k * tc.k
			if tc.depthwise {
				wn = C * tc.k * tc.k
			}
			w := make([]float64, wn)
			for i := range w {
				w[i] = rng.NormFloat64()
			}
			want, Ho, Wo := naiveConv(x, B, C, H, W, w, Cout, tc.k, tc.s, tc.p, tc.d, tc.depthwise)
			g := convGeom{B: B, C: C, H: H, W: W, KH: tc.k, KW: tc.k, SH: tc.s, SW: tc.s, PH: tc.p, PW: tc.p, DH: tc.d, DW: tc.d, Cout: Cout}
			g.finish()
			if g.Ho != Ho || g.Wo != Wo {
				t.Fatalf("output size %dx%d, want %dx%d", g.Ho, g.Wo, Ho, Wo)
			}
			got := make([]float64, len(want))
			if tc.depthwise {
				depthwiseForward(&g, x, w, got)
			} else {
				convForward(&g, x, w, got)
			}
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12 {
					t.Fatalf("y[%d] = %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestPoolGradients(t *testing.T) {
	for _, tc := range []struct {
		name      string
		k, s, p   int
		max, incl bool
	}{
		{"avg_k3s1p1", 3, 1, 1, false, false},
		{"avg_k3s1p1_incl", 3, 1, 1, false, true},
		{"avg_k2s2p0", 2, 2, 0, false, false},
		{"max_k3s1p1", 3, 1, 1, true, false},
		{"max_k2s2p0", 2, 2, 0, true, false},
		{"max_k3s2p1", 3, 2, 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gradCheck(t, 2, 1e-6, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
				x := randNode(g, rng, "x", 2, 2, 6, 5)
				var y *G.Node
				var err error
				if tc.max {
					y, err = MaxPool(x, tc.k, tc.s, tc.p)
				} else {
					y, err = AvgPool(x, tc.k, tc.s, tc.p, tc.incl)
				}
				if err != nil {
					t.Fatal(err)
				}
				return y, []*G.Node{x}
			})
		})
	}
}

// TestAvgPoolDivisor is the regression test for gorgonia bug 1: a 1×2×6×6
// ramp, 3×3 pad 1 stride 1, must match count_include_pad=False exactly, and
// Σ ∂Σy/∂x must be 72 (one per output).
func TestAvgPoolDivisor(t *testing.T) {
	x := make([]float64, 72)
	for i := range x {
		x[i] = float64(i)
	}
	g := convGeom{B: 1, C: 2, H: 6, W: 6, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Cout: 2}
	g.finish()
	y := make([]float64, 72)
	poolForward(&g, false, false, x, y)
	// Corner (0,0) of channel 0: mean of x[0,1,6,7] = 3.5; centre (2,2): x[14] = 14.
	for _, c := range []struct {
		i    int
		want float64
	}{{0, 3.5}, {14, 14}, {5, (4 + 5 + 10 + 11) / 4.0}, {36, 36 + 3.5}, {7, 7}} {
		if y[c.i] != c.want {
			t.Errorf("y[%d] = %v, want %v", c.i, y[c.i], c.want)
		}
	}
	ones := make([]float64, 72)
	for i := range ones {
		ones[i] = 1
	}
	dx := make([]float64, 72)
	poolBackward(&g, false, false, x, ones, dx)
	var s float64
	for _, v := range dx {
		s += v
	}
	if math.Abs(s-72) > 1e-12 {
		t.Fatalf("Σ dx = %v, want 72", s)
	}
}

// TestMaxPoolNaNWindow is the regression test for gorgonia bug 6 (panic in
// the VM goroutine when a whole window is NaN): the forward gives NaN for
// that window and the backward runs without panicking.
func TestMaxPoolNaNWindow(t *testing.T) {
	g := G.NewGraph()
	d := make([]float64, 16)
	for i := range d {
		d[i] = float64(i)
	}
	for _, i := range []int{0, 1, 4, 5} {
		d[i] = math.NaN()
	}
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(1, 1, 4, 4), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(1, 1, 4, 4), tensor.WithBacking(d))))
	y := G.Must(MaxPool(x, 2, 2, 0))
	cost := G.Must(G.Sum(y))
	if _, err := G.Grad(cost, x); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g, G.BindDualValues(x))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	yv := y.Value().Data().([]float64)
	if !math.IsNaN(yv[0]) || yv[1] != 7 || yv[2] != 13 || yv[3] != 15 {
		t.Fatalf("y = %v, want [NaN 7 13 15]", yv)
	}
	gv, _ := x.Grad()
	gd := gv.Data().([]float64)
	if gd[0] != 0 || gd[7] != 1 || gd[15] != 1 {
		t.Fatalf("dx = %v", gd)
	}
}

func TestGlobalAvgPoolGradient(t *testing.T) {
	// Regression for bugs 2 and 3: GlobalAveragePool2D has no gradient and
	// multi-axis Sum/Mean gradients are wrong under a non-uniform upstream.
	gradCheck(t, 3, 1e-7, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
		x := randNode(g, rng, "x", 3, 2, 4, 5)
		return G.Must(GlobalAvgPool(x)), []*G.Node{x}
	})
}

func TestBatchNormGradients(t *testing.T) {
	for _, training := range []bool{true, false} {
		name := "eval"
		if training {
			name = "train"
		}
		t.Run(name, func(t *testing.T) {
			gradCheck(t, 4, 1e-6, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
				x := randNode(g, rng, "x", 3, 2, 3, 4)
				gm := randNode(g, rng, "gamma", 2)
				bt := randNode(g, rng, "beta", 2)
				st := NewBNState(2, 0.1, 1e-5)
				st.Mean[0], st.Var[1] = 0.3, 2.5
				y, err := BatchNorm(x, gm, bt, st, training)
				if err != nil {
					t.Fatal(err)
				}
				return y, []*G.Node{x, gm, bt}
			})
		})
	}
}

// TestBatchNormRunningStats checks PyTorch semantics (momentum 0.1, unbiased
// running variance) and that evaluating with an eval-mode graph then
// training again keeps the statistics (gorgonia bug 7 resets them).
func TestBatchNormRunningStats(t *testing.T) {
	st := NewBNState(1, 0.1, 1e-5)
	x := []float64{1, 2, 3, 4, 5, 6}
	y := make([]float64, 6)
	xhat := make([]float64, 6)
	inv := make([]float64, 1)
	bnForwardTrain(x, []float64{1}, []float64{0}, y, xhat, inv, st, 2, 1, 3)
	// mean 3.5, biased var 35/12, unbiased 3.5.
	if math.Abs(st.Mean[0]-0.35) > 1e-12 || math.Abs(st.Var[0]-(0.9+0.35)) > 1e-12 {
		t.Fatalf("running mean/var = %v/%v, want 0.35/1.25", st.Mean[0], st.Var[0])
	}
	if want := (1 - 3.5) / math.Sqrt(35.0/12+1e-5); math.Abs(y[0]-want) > 1e-12 {
		t.Fatalf("y[0] = %v, want %v", y[0], want)
	}
	bnForwardEval(x, []float64{1}, []float64{0}, y, xhat, inv, st, 2, 1, 3)
	if want := (1 - 0.35) / math.Sqrt(1.25+1e-5); math.Abs(y[0]-want) > 1e-12 {
		t.Fatalf("eval y[0] = %v, want %v", y[0], want)
	}
	bnForwardTrain(x, []float64{1}, []float64{0}, y, xhat, inv, st, 2, 1, 3)
	if math.Abs(st.Mean[0]-(0.9*0.35+0.35)) > 1e-12 {
		t.Fatalf("running mean after eval+train = %v, want %v (statistics were reset)", st.Mean[0], 0.9*0.35+0.35)
	}
}

func TestStockOpGradients(t *testing.T) {
	t.Run("relu", func(t *testing.T) {
		gradCheck(t, 5, 1e-6, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
			x := randNode(g, rng, "x", 2, 3, 4, 4)
			return G.Must(G.Rectify(x)), []*G.Node{x}
		})
	})
	t.Run("concat", func(t *testing.T) {
		gradCheck(t, 6, 1e-7, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
			a := randNode(g, rng, "a", 2, 3, 4, 4)
			b := randNode(g, rng, "b", 2, 2, 4, 4)
			return G.Must(G.Concat(1, a, b)), []*G.Node{a, b}
		})
	})
	t.Run("cross_entropy", func(t *testing.T) {
		gradCheck(t, 7, 1e-6, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
			logits := randNode(g, rng, "logits", 4, 5)
			oh := make([]float64, 20)
			for i := 0; i < 4; i++ {
				oh[i*5+rng.IntN(5)] = 1
			}
			y := G.NewMatrix(g, tensor.Float64, G.WithShape(4, 5), G.WithName("y"), G.WithValue(tensor.New(tensor.WithShape(4, 5), tensor.WithBacking(oh))))
			loss, err := crossEntropy(logits, y)
			if err != nil {
				t.Fatal(err)
			}
			return loss, []*G.Node{logits}
		})
	})
	t.Run("linear", func(t *testing.T) {
		gradCheck(t, 8, 1e-6, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
			x := randNode(g, rng, "x", 3, 4)
			w := randNode(g, rng, "w", 4, 5)
			b := randNode(g, rng, "b", 5)
			y, err := linear(x, w, b)
			if err != nil {
				t.Fatal(err)
			}
			return y, []*G.Node{x, w, b}
		})
	})
}

func TestMixtureGradients(t *testing.T) {
	gradCheck(t, 9, 1e-6, func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, []*G.Node) {
		alpha := randNode(g, rng, "alpha", 3)
		x := randNode(g, rng, "x", 2, 2, 3, 3)
		w := randNode(g, rng, "w", 2, 2, 3, 3)
		conv := G.Must(Conv2D(x, w, 1, 1, 1))
		pool := G.Must(AvgPool(x, 3, 1, 1, false))
		y, err := Mixture(alpha, conv, pool, x)
		if err != nil {
			t.Fatal(err)
		}
		return y, []*G.Node{alpha, x, w}
	})
}

// TestIndicator checks the straight-through op: the forward is the hard step
// and the backward is exactly gy·σ(x)(1−σ(x)) (a finite difference of the
// step would be 0, so the reference is the hand-computed surrogate).
func TestIndicator(t *testing.T) {
	g := G.NewGraph()
	xs := []float64{-2, -0.5, 0, 0.25, 3}
	x := G.NewVector(g, tensor.Float64, G.WithShape(5), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(5), tensor.WithBacking(append([]float64(nil), xs...)))))
	c := G.NewVector(g, tensor.Float64, G.WithShape(5), G.WithName("c"), G.WithValue(tensor.New(tensor.WithShape(5), tensor.WithBacking([]float64{1, 2, 3, 4, 5}))))
	y := G.Must(Indicator(x))
	cost := G.Must(G.Sum(G.Must(G.HadamardProd(y, c))))
	if _, err := G.Grad(cost, x); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g, G.BindDualValues(x))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	yv := y.Value().Data().([]float64)
	gv, _ := x.Grad()
	for i, v := range xs {
		want := 0.0
		if v >= 0 {
			want = 1
		}
		if yv[i] != want {
			t.Errorf("y[%d] = %v, want %v", i, yv[i], want)
		}
		s := 1 / (1 + math.Exp(-v))
		if d := gv.Data().([]float64)[i]; math.Abs(d-float64(i+1)*s*(1-s)) > 1e-15 {
			t.Errorf("dx[%d] = %v, want %v", i, d, float64(i+1)*s*(1-s))
		}
	}
}

// TestAvgPoolSeparableReference compares the separable average pool with a
// direct window loop for several geometries and both divisor conventions.
func TestAvgPoolSeparableReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, tc := range []struct {
		name       string
		k, s, p, h int
		incl       bool
	}{{"k3s1p1", 3, 1, 1, 7, false}, {"k3s1p1_incl", 3, 1, 1, 7, true}, {"k2s2p0", 2, 2, 0, 8, false}, {"k3s2p1", 3, 2, 1, 9, false}, {"k5s1p2", 5, 1, 2, 6, false}} {
		t.Run(tc.name, func(t *testing.T) {
			g := convGeom{B: 2, C: 3, H: tc.h, W: tc.h + 1, KH: tc.k, KW: tc.k, SH: tc.s, SW: tc.s, PH: tc.p, PW: tc.p, DH: 1, DW: 1}
			g.finish()
			x := make([]float64, g.B*g.C*g.H*g.W)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			y := make([]float64, g.B*g.C*g.Ho*g.Wo)
			avgPoolForwardSep(&g, tc.incl, x, y)
			gy := make([]float64, len(y))
			for i := range gy {
				gy[i] = rng.NormFloat64()
			}
			dx := make([]float64, len(x))
			avgPoolBackwardSep(&g, tc.incl, gy, dx)
			wantDx := make([]float64, len(x))
			for bc := 0; bc < g.B*g.C; bc++ {
				for oy := 0; oy < g.Ho; oy++ {
					for ox := 0; ox < g.Wo; ox++ {
						var s float64
						var idx []int
						for i := 0; i < tc.k; i++ {
							for j := 0; j < tc.k; j++ {
								iy, ix := oy*tc.s-tc.p+i, ox*tc.s-tc.p+j
								if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
									k := bc*g.H*g.W + iy*g.W + ix
									s += x[k]
									idx = append(idx, k)
								}
							}
						}
						n := float64(len(idx))
						if tc.incl {
							n = float64(tc.k * tc.k)
						}
						o := bc*g.Ho*g.Wo + oy*g.Wo + ox
						if math.Abs(y[o]-s/n) > 1e-12 {
							t.Fatalf("y[%d] = %v, want %v", o, y[o], s/n)
						}
						for _, k := range idx {
							wantDx[k] += gy[o] / n
						}
					}
				}
			}
			for i := range dx {
				if math.Abs(dx[i]-wantDx[i]) > 1e-12 {
					t.Fatalf("dx[%d] = %v, want %v", i, dx[i], wantDx[i])
				}
			}
		})
	}
}
