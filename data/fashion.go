package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// the four IDX files; the environment variable FashionMNISTEnv overrides it.
const (
	FashionMNISTDir = "/usr/share/datasets/fashion-mnist"
	FashionMNISTEnv = "SDEKIT_FASHION_MNIST"
)

// FashionMNISTClasses names the ten labels 0..9 of Fashion-MNIST.
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// fashionInstall is the advice every missing-file error ends with.
const fashionInstall = "install it with: apt-get install dataset-fashion-mnist (or set " + FashionMNISTEnv + " to a folder holding the four IDX files)"

// FashionMNISTFolder returns the folder the Fashion-MNIST files are read
// from: $SDEKIT_FASHION_MNIST when set, else FashionMNISTDir.
func FashionMNISTFolder() string {
	if d := os.Getenv(FashionMNISTEnv); d != "" {
		return d
	}
	return FashionMNISTDir
}

// LoadFashionMNIST reads Fashion-MNIST (Xiao, Rasul and Vollgraf 2017):
// the 60,000 training images (test false) or the 10,000 test images (test
// true), 28 x 28 grey levels 0..255 with labels 0..9, from dir, where the
// files are train-images-idx3-ubyte and train-labels-idx1-ubyte (t10k- for
// the test set), each gzip-compressed with a .gz suffix or not. A missing
// file gives one line that says which package to install.
func LoadFashionMNIST(dir string, test bool) (*Images, error) {
	prefix, name := "train", "fashion-mnist"
	if test {
		prefix, name = "t10k", "fashion-mnist-test"
	}
	imgPath, err := findIDX(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	labPath, err := findIDX(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	img, err := OpenIDX(imgPath)
	if err != nil {
		return nil, err
	}
	lab, err := OpenIDX(labPath)
	if err != nil {
		return nil, err
	}
	return newImages(name, img, lab, imgPath, labPath, FashionMNISTClasses)
}

// findIDX returns dir/base.gz or dir/base, whichever exists.
func findIDX(dir, base string) (string, error) {
	p := filepath.Join(dir, base)
	for _, c := range []string{p + ".gz", p} {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", openErr(c, err)
		}
	}
	return "", fmt.Errorf("data: Fashion-MNIST: no %s(.gz) in %s; %s", base, dir, fashionInstall)
}

// fashionCache keeps each loaded set (per folder) for the life of the
// process: ByName may be called more than once per run.
var fashionCache struct {
	sync.Mutex
	sets map[string]*Images
}

func loadFashionCached(test bool) (*Images, error) {
	dir := FashionMNISTFolder()
	key := fmt.Sprintf("%s\x00%v", dir, test)
	fashionCache.Lock()
	defer fashionCache.Unlock()
	if m := fashionCache.sets[key]; m != nil {
		return m, nil
	}
	m, err := LoadFashionMNIST(dir, test)
	if err != nil {
		return nil, err
	}
	if m.C != 1 || m.H != 28 || m.W != 28 {
		return nil, fmt.Errorf("data: %s: images of %d x %d x %d; Fashion-MNIST's are 1 x 28 x 28 (%s)", dir, m.C, m.H, m.W, fashionInstall)
	}
	if fashionCache.sets == nil {
		fashionCache.sets = map[string]*Images{}
	}
	fashionCache.sets[key] = m
	return m, nil
}

// ImageSet returns a built-in image set in order, by name: fashion-mnist
// (the 60,000 training images) or fashion-mnist-test (the 10,000 test
// images). ok is false for any other name.
func ImageSet(name string) (m *Images, ok bool, err error) {
	switch name {
	case "fashion-mnist":
		m, err = loadFashionCached(false)
	case "fashion-mnist-test":
		m, err = loadFashionCached(true)
	default:
		return nil, false, nil
	}
	return m, true, err
}
