package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File is one file of a volume written by WriteAtomic.
type File struct {
	Data []byte
	Mode os.FileMode
}

// Names the atomic writer gives its entries in a volume directory. They
// start with ".." so that they cannot clash with a user's file name (the
// API forbids paths starting with "..").
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
	// tsFormat names each generation of files, as upstream does
	// (..2026_11_22_03_42_35.123456789).
	tsFormat = "..2006_01_02_15_04_05."
)

// WriteAtomic makes dir hold exactly payload (relative path → file) so
// that a concurrent reader sees either the previous payload or the new
// one. Each generation of files is written to a fresh timestamped
// directory; the symlink ..data points to the current one and is
// replaced with a rename(2), and each top-level user entry is a symlink
// through ..data. It returns whether anything changed: when dir already
// holds payload it does nothing.
func WriteAtomic(dir string, payload map[string]File, now time.Time) (bool, error) {
	for p := range payload {
		if err := validatePayloadPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	oldTS, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if oldTS != "" {
		same, err := holds(filepath.Join(dir, oldTS), payload)
		if err != nil {
			return false, err
		}
		if same && linksCurrent(dir, payload) {
			return false, nil
		}
	}

	tsDir, err := os.MkdirTemp(dir, now.UTC().Format(tsFormat))
	if err != nil {
		return false, err
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return false, err
	}
	for p, f := range payload {
		full := filepath.Join(tsDir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, f.Data, f.Mode.Perm()); err != nil {
			return false, err
		}
		// WriteFile's mode is filtered by the umask.
		if err := os.Chmod(full, f.Mode.Perm()); err != nil {
			return false, err
		}
	}

	tmpLink := filepath.Join(dir, newDataDirName)
	if err := os.Remove(tmpLink); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		return false, err
	}

	tops := topLevel(payload)
	for top := range tops {
		link := filepath.Join(dir, top)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join(dataDirName, top) {
			continue
		}
		if err := os.RemoveAll(link); err != nil {
			return false, err
		}
		if err := os.Symlink(filepath.Join(dataDirName, top), link); err != nil {
			return false, err
		}
	}
	// Drop the user entries of the previous generation that are gone, and
	// every older generation.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataDirName || name == filepath.Base(tsDir):
		case strings.HasPrefix(name, ".."):
			errs = append(errs, os.RemoveAll(filepath.Join(dir, name)))
		case !tops[name] && e.Type()&fs.ModeSymlink != 0:
			errs = append(errs, os.Remove(filepath.Join(dir, name)))
		}
	}
	return true, errors.Join(errs...)
}

// validatePayloadPath rejects paths that would leave the volume or clash
// with the writer's own entries, as the API's validation of item paths
// does.
func validatePayloadPath(p string) error {
	if p == "" {
		return errors.New("invalid path: must not be empty")
	}
	if filepath.IsAbs(p) {
		return fmt.Errorf("invalid path %q: must be relative", p)
	}
	if len(p) > 4096 {
		return fmt.Errorf("invalid path %q: must be less than or equal to 4096 characters", p)
	}
	for i, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("invalid path %q: must not contain '..'", p)
		}
		if i == 0 && strings.HasPrefix(part, "..") {
			return fmt.Errorf("invalid path %q: must not start with '..'", p)
		}
		if part == "" || part == "." {
			return fmt.Errorf("invalid path %q: must be clean", p)
		}
	}
	return nil
}

// topLevel returns the first path element of every payload path.
func topLevel(payload map[string]File) map[string]bool {
	out := make(map[string]bool, len(payload))
	for p := range payload {
		top, _, _ := strings.Cut(p, "/")
		out[top] = true
	}
	return out
}

// holds reports whether directory ts holds exactly payload's files, with
// their content and mode.
func holds(ts string, payload map[string]File) (bool, error) {
	n := 0
	same := true
	err := filepath.WalkDir(ts, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(ts, path) // path is under ts
		f, ok := payload[rel]
		if !ok {
			same = false
			return filepath.SkipAll
		}
		n++
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Perm() != f.Mode.Perm() {
			same = false
			return filepath.SkipAll
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Equal(data, f.Data) {
			same = false
			return filepath.SkipAll
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // a generation removed under us: write a new one
	}
	if err != nil {
		return false, err
	}
	return same && n == len(payload), nil
}

// linksCurrent reports whether every top-level entry of payload is the
// symlink through ..data (a previous write may have been interrupted).
func linksCurrent(dir string, payload map[string]File) bool {
	for top := range topLevel(payload) {
		if target, err := os.Readlink(filepath.Join(dir, top)); err != nil || target != filepath.Join(dataDirName, top) {
			return false
		}
	}
	return true
}
