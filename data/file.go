package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Extensions lists the file extensions Load and Save understand.
var Extensions = []string{".csv", ".npy"}

func format(path string) (string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".csv", ".npy":
		return ext, nil
	case "":
		return "", fileErr(path, "no file extension; use "+strings.Join(Extensions, " or "), nil)
	}
	return "", fileErr(path, fmt.Sprintf("unknown extension %q; use %s", filepath.Ext(path), strings.Join(Extensions, " or ")), nil)
}

// Load reads a table from a .csv or .npy file (the extension decides, in
// any letter case). See ReadCSV and ReadNPY for what each accepts. Errors
// are *FileError values that name the file and, where there is one, the
// line and column or the element.
func Load(path string) (*Table, error) {
	ext, err := format(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, openErr(path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fileErr(path, "is a folder, not a file", nil)
	}
	if ext == ".npy" {
		t, err := ReadNPY(f, path)
		if err != nil {
			return nil, err
		}
		if err := loadNPYLabels(t, path); err != nil {
			return nil, err
		}
		return t, nil
	}
	return ReadCSV(f, path)
}

func openErr(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fileErr(path, "no such file", err)
	case errors.Is(err, fs.ErrPermission):
		return fileErr(path, "permission denied", err)
	}
	return fileErr(path, err.Error(), err)
}

// Save writes t to path as CSV or NPY (by extension), atomically: the rows
// stream into a temporary file in the same folder that replaces path only
// once complete (see AtomicFile).
func Save(path string, t *Table) error {
	ext, err := format(path)
	if err != nil {
		return err
	}
	if t.D <= 0 || t.N < 0 || len(t.X) < t.N*t.D {
		panic(fmt.Sprintf("data: Save: malformed table N=%d D=%d len(X)=%d", t.N, t.D, len(t.X)))
	}
	f, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if ext == ".npy" {
		err = WriteNPY(f, t)
	} else {
		err = WriteCSV(f, t)
	}
	if err != nil {
		return writeErr(path, err)
	}
	return f.Commit()
}

// TableFile is an output table file being written row block by row block,
// atomically: use WriteRows as blocks complete, then Commit (or Abort).
type TableFile struct {
	f   *AtomicFile
	csv *CSVWriter
	npy *NPYWriter
}

// CreateTable starts an n x d table file at path, CSV or NPY by extension
// (NPY needs n for its header; CSV ignores it). The file appears at path
// only after Commit.
func CreateTable(path string, n, d int) (*TableFile, error) {
	ext, err := format(path)
	if err != nil {
		return nil, err
	}
	if n < 0 || d <= 0 {
		panic(fmt.Sprintf("data: CreateTable(n=%d, d=%d): need n >= 0 and d > 0", n, d))
	}
	f, err := CreateAtomic(path)
	if err != nil {
		return nil, err
	}
	tf := &TableFile{f: f}
	if ext == ".npy" {
		tf.npy = NewNPYWriter(f, n, d)
	} else {
		tf.csv = NewCSVWriter(f, d)
	}
	return tf, nil
}

// WriteRows writes whole rows (row-major); see CSVWriter and NPYWriter.
func (t *TableFile) WriteRows(x []float64) error {
	if t.npy != nil {
		return t.npy.WriteRows(x)
	}
	return t.csv.WriteRows(x)
}

// Rows returns the number of rows written so far.
func (t *TableFile) Rows() int {
	if t.npy != nil {
		return t.npy.Rows()
	}
	return t.csv.Rows()
}

// Commit flushes the rows (for NPY, checking that all n were written) and
// moves the file into place. On error the temporary file is removed.
func (t *TableFile) Commit() error {
	var err error
	if t.npy != nil {
		err = t.npy.Close()
	} else {
		err = t.csv.Flush()
	}
	if err != nil {
		t.f.Abort()
		return writeErr(t.f.path, err)
	}
	return t.f.Commit()
}

// Abort removes the temporary file; a no-op after Commit.
func (t *TableFile) Abort() error { return t.f.Abort() }

// Name returns the final path.
func (t *TableFile) Name() string { return t.f.path }

func writeErr(path string, err error) error {
	return fileErr(path, "write failed: "+strings.TrimPrefix(err.Error(), "data: "), err)
}
