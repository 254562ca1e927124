package data_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/sdekit/sdekit/data"
)

func ExampleByName() {
	src, err := data.ByName("gmm8")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 5*src.Dim())
	src.Sample(x, 5, r) // 5 rows of 2
	fmt.Println(src.Name(), src.Dim(), len(x))

	_, err = data.ByName("spiral")
	fmt.Println(err)
	// Output:
	// gmm8 2 10
	// data: unknown source "spiral"; valid names: gmm8, swissroll, checkerboard, moons, digits, digits-train, digits-test
}

func ExampleSave() {
	dir, _ := os.MkdirTemp("", "sdekit")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "points.csv")

	t := &data.Table{N: 2, D: 2, X: []float64{0.1, -1, 1e-300, 2}}
	if err := data.Save(path, t); err != nil { // atomic: temp file + rename
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))

	u, err := data.Load(path)
	fmt.Println(u.N, u.D, u.X, err)
	// Output:
	// x0,x1
	// 0.10000000000000001,-1
	// 1e-300,2
	// 2 2 [0.1 -1 1e-300 2] <nil>
}

func ExampleCreateTable() {
	dir, _ := os.MkdirTemp("", "sdekit")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "samples.npy")

	const n, d, block = 1000, 2, 256
	f, err := data.CreateTable(path, n, d) // NPY needs n for its header
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Abort() // removes the temporary file unless committed
	src := data.NewMoons()
	r := rand.New(rand.NewPCG(1, 1))
	buf := make([]float64, block*d)
	for i := 0; i < n; i += block {
		m := min(block, n-i)
		src.Sample(buf, m, r)
		if err := f.WriteRows(buf[:m*d]); err != nil { // memory: one block
			fmt.Println(err)
			return
		}
	}
	if err := f.Commit(); err != nil {
		fmt.Println(err)
		return
	}
	t, _ := data.Load(path)
	fmt.Println(t.N, t.D)
	// Output:
	// 1000 2
}
