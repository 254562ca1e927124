package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sdekit/sdekit/data"
)

func init() {
	register("merge", "put the outputs of -shard 0/n ... n-1/n back in row order (bit for bit the unsharded output)", runMerge)
}

func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", stderr)
	out := fs.String("o", "", "merged output, .csv or .npy like the shards (required)")
	total := fs.Int("rows", 0, "the -n of the run (rows or points in all): checked, so that a missing last shard is caught (0: not checked)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sdesample merge [-rows N] -o out.csv shard-0.csv shard-1.csv ... shard-(n-1).csv")
		fmt.Fprintln(fs.Output(), "The shard files must be given in shard order 0, 1, ..., n-1 (the i of -shard i/n).")
		fmt.Fprintln(fs.Output(), "Row r of the result is row r/n of shard r mod n. Works for sample, data and likelihood outputs.")
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	ext, err := tableFormat("o", *out)
	if err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return usagef("no shard files; give them after the flags in shard order 0, 1, ..., n-1")
	}
	if *total < 0 {
		return usagef("-rows %d: give the -n of the run, or 0 not to check", *total)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[filepath.Clean(f)] {
			return usagef("%s is given twice; give every shard once, in shard order 0, 1, ..., n-1", f)
		}
		seen[filepath.Clean(f)] = true
		if !strings.EqualFold(extOf(f), ext) {
			return usagef("%s: every shard must be a %s file like -o %s", f, ext, *out)
		}
		if sameFile(f, *out) {
			return usagef("-o %s is also a shard; write the merged file elsewhere", *out)
		}
	}
	of, err := createOut("o", *out)
	if err != nil {
		return err
	}
	defer of.Abort()
	var rows int
	if ext == ".npy" {
		rows, err = mergeNPY(ctx, of, files, *total)
	} else {
		rows, err = mergeCSV(ctx, of, files, *total)
	}
	if err != nil {
		return err
	}
	if err := of.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "merged %d rows from %d shards into %s (sha256 %s)\n", rows, len(files), *out, of.Sum())
	return nil
}

func extOf(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 && !strings.ContainsAny(path[i:], "/\\") {
		return path[i:]
	}
	return ""
}

// checkShardCounts checks that shard i holds ceil((N-i)/n) rows, as -shard
// i/n writes them; anything else means a missing, repeated, truncated or
// misordered shard.
func checkShardCounts(files []string, counts []int, want int) (int, error) {
	total := 0
	for _, c := range counts {
		total += c
	}
	n := len(files)
	if want > 0 && total != want {
		return 0, fmt.Errorf("the %d shards hold %d rows in all, -rows says %d; a shard may be missing: give every shard once, in shard order 0, 1, ..., n-1", n, total, want)
	}
	for i, c := range counts {
		want := 0
		if total > i {
			want = (total - i + n - 1) / n
		}
		if c != want {
			return 0, fmt.Errorf("%s holds %d rows, but shard %d of %d shards of a %d-row run holds %d; give every shard once, in shard order 0, 1, ..., %d, and check none was cut short",
				files[i], c, i, n, total, want, n-1)
		}
	}
	return total, nil
}

func mergeCSV(ctx context.Context, w io.Writer, files []string, want int) (int, error) {
	// Pass 1: headers and row counts.
	counts := make([]int, len(files))
	var header []byte
	for i, f := range files {
		h, c, err := scanCSV(f)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			header = h
		} else if !bytes.Equal(h, header) {
			return 0, fmt.Errorf("%s: header %q differs from %s's %q; shards of one run share a header", f, strings.TrimSpace(string(h)), files[0], strings.TrimSpace(string(header)))
		}
		counts[i] = c
	}
	total, err := checkShardCounts(files, counts, want)
	if err != nil {
		return 0, err
	}
	// Pass 2: interleave the lines as bytes.
	rs := make([]*bufio.Reader, len(files))
	for i, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return 0, fmt.Errorf("%s: %s", f, fsMessage(err))
		}
		defer fh.Close()
		rs[i] = bufio.NewReaderSize(fh, 1<<16)
		if _, err := readLine(rs[i]); err != nil {
			return 0, fmt.Errorf("%s: %v", f, err)
		}
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(header)
	// Outputs with a row column (likelihood, trajectory) say where each
	// line belongs: the merged row r must read r, which catches shards
	// given out of order (sample's and data's outputs carry no index; their
	// order is the caller's).
	hasRow := bytes.HasPrefix(header, []byte("row,"))
	for r := 0; r < total; r++ {
		if r%4096 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		i := r % len(files)
		line, err := readLine(rs[i])
		if err != nil {
			return 0, fmt.Errorf("%s: %v (did it change during the merge?)", files[i], err)
		}
		if hasRow {
			if err := checkRowField(line, r, files[i], i); err != nil {
				return 0, err
			}
		}
		bw.Write(line)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("write failed: %v", err)
	}
	return total, nil
}

// checkRowField checks that a line's first field, its row index, is r.
func checkRowField(line []byte, r int, file string, pos int) error {
	f, _, _ := bytes.Cut(line, []byte(","))
	v, err := strconv.ParseFloat(strings.TrimSpace(string(f)), 64)
	if err != nil || v != float64(r) {
		return fmt.Errorf("%s (given as shard %d) has row %s where the merged row %d belongs: the shards are out of order; give them in shard order 0, 1, ..., n-1 (the i of -shard i/n)", file, pos, strings.TrimSpace(string(f)), r)
	}
	return nil
}

// readLine returns the next line with its '\n'; a last line without one gets
// it added.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err == io.EOF && len(line) > 0 {
		return append(line, '\n'), nil
	}
	return line, err
}

// scanCSV returns the header line of a shard and its number of data lines.
func scanCSV(path string) ([]byte, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %s", path, fsMessage(err))
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	header, err := readLine(r)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: empty file; not a shard written by sdesample", path)
	}
	if len(header) > 0 && (header[0] == '-' || header[0] == '.' || (header[0] >= '0' && header[0] <= '9')) {
		return nil, 0, fmt.Errorf("%s: no header row; not a shard written by sdesample", path)
	}
	n := 0
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			n++
		}
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, 0, fmt.Errorf("%s: read failed: %v", path, err)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			n-- // the same line continues
		}
	}
	return header, n, nil
}

// npyInfo is the header of a float64 C-order NPY file.
type npyInfo struct {
	rows, cols int
	offset     int64
}

var (
	npyDescr = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	npyOrder = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape = regexp.MustCompile(`'shape':\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)`)
)

// readNPYHeader parses the header sdesample writes: '<f8', C order, (n, D).
func readNPYHeader(path string, r io.Reader) (npyInfo, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil || string(pre[:6]) != "\x93NUMPY" {
		return npyInfo{}, fmt.Errorf("%s: not an NPY file", path)
	}
	var hlen int
	off := int64(10)
	switch pre[6] {
	case 1:
		hlen = int(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		var more [2]byte
		if _, err := io.ReadFull(r, more[:]); err != nil {
			return npyInfo{}, fmt.Errorf("%s: truncated NPY header", path)
		}
		hlen = int(binary.LittleEndian.Uint32(append(pre[8:10:10], more[:]...)))
		off += 2
	default:
		return npyInfo{}, fmt.Errorf("%s: NPY format version %d.%d is not supported", path, pre[6], pre[7])
	}
	h := make([]byte, hlen)
	if _, err := io.ReadFull(r, h); err != nil {
		return npyInfo{}, fmt.Errorf("%s: truncated NPY header", path)
	}
	d := npyDescr.FindSubmatch(h)
	o := npyOrder.FindSubmatch(h)
	s := npyShape.FindSubmatch(h)
	if d == nil || o == nil || s == nil || string(d[1]) != "<f8" || string(o[1]) != "False" {
		return npyInfo{}, fmt.Errorf("%s: merge needs the float64 (n, D) C-order arrays sdesample writes, found header %s", path, strings.TrimSpace(string(h)))
	}
	n, _ := strconv.Atoi(string(s[1]))
	c, _ := strconv.Atoi(string(s[2]))
	return npyInfo{rows: n, cols: c, offset: off + int64(hlen)}, nil
}

func mergeNPY(ctx context.Context, w io.Writer, files []string, want int) (int, error) {
	infos := make([]npyInfo, len(files))
	counts := make([]int, len(files))
	rs := make([]*bufio.Reader, len(files))
	for i, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return 0, fmt.Errorf("%s: %s", f, fsMessage(err))
		}
		defer fh.Close()
		rs[i] = bufio.NewReaderSize(fh, 1<<16)
		if infos[i], err = readNPYHeader(f, rs[i]); err != nil {
			return 0, err
		}
		if st, err := fh.Stat(); err == nil {
			want := infos[i].offset + int64(infos[i].rows*infos[i].cols*8)
			if st.Size() != want {
				return 0, fmt.Errorf("%s: %d bytes, the header declares %d; the shard is truncated or damaged", f, st.Size(), want)
			}
		}
		if infos[i].cols != infos[0].cols {
			return 0, fmt.Errorf("%s: %d columns, %s has %d; shards of one run have the same width", f, infos[i].cols, files[0], infos[0].cols)
		}
		counts[i] = infos[i].rows
	}
	total, err := checkShardCounts(files, counts, want)
	if err != nil {
		return 0, err
	}
	d := infos[0].cols
	nw := data.NewNPYWriter(w, total, d)
	raw := make([]byte, 8*d)
	row := make([]float64, d)
	for r := 0; r < total; r++ {
		if r%4096 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		i := r % len(files)
		if _, err := io.ReadFull(rs[i], raw); err != nil {
			return 0, fmt.Errorf("%s: read failed: %v", files[i], err)
		}
		for j := range row {
			row[j] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*j:]))
		}
		if err := nw.WriteRows(row); err != nil {
			return 0, fmt.Errorf("write failed: %v", err)
		}
	}
	if err := nw.Close(); err != nil {
		return 0, fmt.Errorf("write failed: %v", err)
	}
	return total, nil
}
