package data

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// AtomicFile is an output file that appears at its final path only when
// complete. Writes go to a temporary file .NAME.tmp-XXXX in the same folder;
// Commit syncs it and renames it over the final path (atomic on POSIX file
// systems), Abort removes it. A reader of the final path thus sees either
// the old file or the whole new one, never a partial write from a run that
// was killed or failed.
//
// Typical use:
//
//	f, err := data.CreateAtomic(path)
//	if err != nil { return err }
//	defer f.Abort() // no-op after a successful Commit
//	... write to f ...
//	return f.Commit()
type AtomicFile struct {
	f    *os.File
	path string
	done bool
}

// CreateAtomic creates a temporary file next to path. The folder must exist;
// if it does not, the error names it. The file gets the permissions of an
// existing file at path, or 0666 less the umask (as os.Create) if there is
// none.
func CreateAtomic(path string) (*AtomicFile, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fileErr(path, "not a file name (it ends in a path separator)", nil)
	}
	if dir == "" {
		dir = "."
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fileErr(path, fmt.Sprintf("cannot create: folder %s does not exist (create it first)", filepath.Clean(dir)), err)
	case err != nil:
		return nil, fileErr(path, fmt.Sprintf("cannot create: %v", err), err)
	case !st.IsDir():
		return nil, fileErr(path, fmt.Sprintf("cannot create: %s is not a folder", filepath.Clean(dir)), nil)
	}
	var keepMode fs.FileMode
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return nil, fileErr(path, "cannot create: a folder of that name exists", nil)
		}
		keepMode = st.Mode().Perm()
	}
	var f *os.File
	for try := 0; ; try++ {
		var rnd [4]byte
		rand.Read(rnd[:])
		tmp := filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(rnd[:]))
		f, err = os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try == 100 {
			return nil, fileErr(path, fmt.Sprintf("cannot create a temporary file in %s: %v", filepath.Clean(dir), err), err)
		}
	}
	if keepMode != 0 {
		if err := f.Chmod(keepMode); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, fileErr(path, fmt.Sprintf("cannot set permissions: %v", err), err)
		}
	}
	return &AtomicFile{f: f, path: path}, nil
}

// Write writes to the temporary file.
func (a *AtomicFile) Write(p []byte) (int, error) {
	if a.done {
		return 0, fileErr(a.path, "write after Commit or Abort", fs.ErrClosed)
	}
	return a.f.Write(p)
}

// Name returns the final path.
func (a *AtomicFile) Name() string { return a.path }

// TempName returns the path of the temporary file being written.
func (a *AtomicFile) TempName() string { return a.f.Name() }

// Commit flushes the temporary file to stable storage, closes it and renames
// it to the final path, replacing any file there; it then syncs the folder
// (best effort) so the rename itself survives a crash. On failure the
// temporary file is removed and the final path is left as it was.
func (a *AtomicFile) Commit() error {
	if a.done {
		return fileErr(a.path, "Commit after Commit or Abort", fs.ErrClosed)
	}
	a.done = true
	tmp := a.f.Name()
	fail := func(what string, err error) error {
		a.f.Close()
		os.Remove(tmp)
		return fileErr(a.path, fmt.Sprintf("%s: %v", what, err), err)
	}
	if err := a.f.Sync(); err != nil {
		return fail("sync failed", err)
	}
	if err := a.f.Close(); err != nil {
		return fail("close failed", err)
	}
	if err := os.Rename(tmp, a.path); err != nil {
		return fail("rename failed", err)
	}
	if d, err := os.Open(filepath.Dir(a.path)); err == nil {
		d.Sync() // best effort: not supported everywhere
		d.Close()
	}
	return nil
}

// Abort closes and removes the temporary file, leaving the final path
// untouched. It is a no-op after Commit or a previous Abort, so it can be
// deferred unconditionally.
func (a *AtomicFile) Abort() error {
	if a.done {
		return nil
	}
	a.done = true
	tmp := a.f.Name()
	a.f.Close()
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileErr(a.path, fmt.Sprintf("removing temporary file %s: %v", tmp, err), err)
	}
	return nil
}
