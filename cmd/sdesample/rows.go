package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/sdekit/sdekit/data"
)

// rowReader hands out the rows of a data file in order. Float64 C-order NPY
// files (what sdesample and numpy write by default) are streamed, so a
// likelihood run holds one block of points at a time however large the file;
// other files are read whole by package data.
type rowReader struct {
	N, D int
	next int
	// streamed NPY
	f   *os.File
	br  *bufio.Reader
	raw []byte
	// in memory
	tab  *data.Table
	path string
	// a built-in image set, in order, scaled to [-1, 1]
	img *data.Images
}

// openRows opens a .csv or .npy data file and checks its shape, or a
// built-in image set by name (fashion-mnist-test: its images in order,
// scaled 2v/255 - 1, read from the set in memory; digits, digits-train,
// digits-test: every image of the split once, as data.DigitsSource.Table). Errors are
// in the words of package data, to be wrapped with dataErr("data", ...).
func openRows(path string) (*rowReader, error) {
	if m, ok, err := data.ImageSet(path); ok {
		if err != nil {
			return nil, err
		}
		return &rowReader{N: m.N, D: m.Dim(), img: m, path: path}, nil
	}
	if src, err := data.ByName(path); err == nil {
		if ds, ok := src.(data.DigitsSource); ok {
			// a digits split by name: every image of it once, as for the image sets
			tab, err := ds.Table()
			if err != nil {
				return nil, err
			}
			return &rowReader{N: tab.N, D: tab.D, tab: tab, path: path}, nil
		}
	}
	if strings.EqualFold(extOf(path), ".npy") {
		f, err := os.Open(path)
		if err == nil {
			br := bufio.NewReaderSize(f, 1<<16)
			if info, herr := readNPYHeader(path, br); herr == nil {
				st, serr := f.Stat()
				if serr == nil && st.Size() == info.offset+int64(info.rows)*int64(info.cols)*8 && info.rows > 0 && info.cols > 0 {
					return &rowReader{N: info.rows, D: info.cols, f: f, br: br, raw: make([]byte, 8*info.cols), path: path}, nil
				}
			}
			f.Close()
		}
		// Anything else (other dtypes, Fortran order, a damaged file) goes
		// through data.Load, which converts or explains.
	}
	tab, err := data.Load(path)
	if err != nil {
		return nil, err
	}
	if err := data.Validate(tab, 0); err != nil {
		return nil, err
	}
	return &rowReader{N: tab.N, D: tab.D, tab: tab, path: path}, nil
}

// read fills dst with the next row and checks it is finite.
func (r *rowReader) read(dst []float64) error {
	row := r.next
	r.next++
	if r.tab != nil {
		copy(dst, r.tab.Row(row))
		return nil
	}
	if r.img != nil {
		r.img.RowTo(dst, row)
		return nil
	}
	if _, err := io.ReadFull(r.br, r.raw); err != nil {
		return &data.FileError{Path: r.path, Row: row, Col: -1, Msg: fmt.Sprintf("read failed: %v", err), Err: err}
	}
	for j := range dst {
		v := math.Float64frombits(binary.LittleEndian.Uint64(r.raw[8*j:]))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			kind := "NaN"
			if math.IsInf(v, 1) {
				kind = "+Inf"
			} else if math.IsInf(v, -1) {
				kind = "-Inf"
			}
			return &data.FileError{Path: r.path, Row: row, Col: j, Msg: kind + "; remove or impute non-finite values"}
		}
		dst[j] = v
	}
	return nil
}

// skip passes over rows until the next one read is row `to`.
func (r *rowReader) skip(to int, scratch []float64) error {
	for r.next < to {
		if r.tab != nil || r.img != nil {
			r.next = to
			return nil
		}
		if err := r.read(scratch); err != nil {
			return err
		}
	}
	return nil
}

func (r *rowReader) Close() {
	if r.f != nil {
		r.f.Close()
	}
}
