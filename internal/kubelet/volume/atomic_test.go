package volume

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readVolume returns what a reader of dir sees: path → content read
// through the user-visible symlinks, for every file of the current
// generation; it fails if a visible entry is not of that generation.
func readVolume(t *testing.T, dir string) map[string]string {
	t.Helper()
	gen := filepath.Join(dir, "..data")
	out := map[string]string{}
	tops := map[string]bool{}
	err := filepath.WalkDir(gen+"/", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(gen, p)
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		out[rel] = string(b)
		top, _, _ := strings.Cut(rel, "/")
		tops[top] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !tops[e.Name()] {
			t.Errorf("stale entry %s", e.Name())
		}
	}
	return out
}

func generations(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "..20*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func TestWriteAtomic(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "vol")
	now := time.Date(2026, 11, 22, 3, 42, 35, 0, time.UTC)

	steps := []struct {
		name        string
		payload     map[string]File
		wantChanged bool
		want        map[string]string
	}{
		{"first write", map[string]File{
			"a":          {Data: []byte("1"), Mode: 0o644},
			"sub/b":      {Data: []byte("2"), Mode: 0o600},
			"sub/deep/c": {Data: []byte("3"), Mode: 0o644},
		}, true, map[string]string{"a": "1", "sub/b": "2", "sub/deep/c": "3"}},
		{"same again", map[string]File{
			"a":          {Data: []byte("1"), Mode: 0o644},
			"sub/b":      {Data: []byte("2"), Mode: 0o600},
			"sub/deep/c": {Data: []byte("3"), Mode: 0o644},
		}, false, map[string]string{"a": "1", "sub/b": "2", "sub/deep/c": "3"}},
		{"content changes, a file goes", map[string]File{
			"a":     {Data: []byte("one"), Mode: 0o644},
			"sub/b": {Data: []byte("2"), Mode: 0o600},
		}, true, map[string]string{"a": "one", "sub/b": "2"}},
		{"mode change only", map[string]File{
			"a":     {Data: []byte("one"), Mode: 0o400},
			"sub/b": {Data: []byte("2"), Mode: 0o600},
		}, true, map[string]string{"a": "one", "sub/b": "2"}},
		{"top-level entry goes", map[string]File{
			"a": {Data: []byte("one"), Mode: 0o400},
		}, true, map[string]string{"a": "one"}},
		{"empty", map[string]File{}, true, map[string]string{}},
	}
	for _, s := range steps {
		now = now.Add(time.Second)
		changed, err := WriteAtomic(dir, s.payload, now)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if changed != s.wantChanged {
			t.Errorf("%s: changed = %v, want %v", s.name, changed, s.wantChanged)
		}
		if diff := cmp.Diff(s.want, readVolume(t, dir)); diff != "" {
			t.Errorf("%s: content (-want +got):\n%s", s.name, diff)
		}
		if g := generations(t, dir); len(g) != 1 {
			t.Errorf("%s: generations = %v, want exactly one", s.name, g)
		}
		for p, f := range s.payload {
			info, err := os.Stat(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != f.Mode {
				t.Errorf("%s: mode of %s = %v, want %v", s.name, p, info.Mode().Perm(), f.Mode)
			}
			// Readers go through ..data.
			if top, _, _ := strings.Cut(p, "/"); true {
				target, err := os.Readlink(filepath.Join(dir, top))
				if err != nil || target != filepath.Join("..data", top) {
					t.Errorf("%s: %s links to %q (%v), want ..data/%s", s.name, top, target, err, top)
				}
			}
		}
	}
	if g := generations(t, dir); !strings.HasPrefix(filepath.Base(g[0]), "..2026_11_22_03_42_") {
		t.Errorf("generation %s not named by its UTC time", g[0])
	}
}

// TestWriteAtomicSwap checks that the old generation stays whole until
// ..data points to the new one: a reader holding the old directory open
// reads old content throughout.
func TestWriteAtomicSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	if _, err := WriteAtomic(dir, map[string]File{"k": {Data: []byte("old"), Mode: 0o644}}, now); err != nil {
		t.Fatal(err)
	}
	oldGen, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := WriteAtomic(dir, map[string]File{"k": {Data: []byte("new"), Mode: 0o644}}, now); err != nil {
		t.Fatal(err)
	}
	newGen, _ := os.Readlink(filepath.Join(dir, "..data"))
	if newGen == oldGen {
		t.Fatalf("..data still points to %s", oldGen)
	}
	b := make([]byte, 8)
	n, _ := f.Read(b)
	if string(b[:n]) != "old" {
		t.Errorf("open reader saw %q, want old", b[:n])
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "k")); string(got) != "new" {
		t.Errorf("new reader saw %q, want new", got)
	}
	if _, err := os.Stat(filepath.Join(dir, oldGen)); !os.IsNotExist(err) {
		t.Errorf("old generation %s not removed: %v", oldGen, err)
	}
}

func TestWriteAtomicRejectsBadPaths(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "/abs", "../up", "a/../../b", "..data", "..x/y", "a//b", "./a"} {
		if _, err := WriteAtomic(t.TempDir(), map[string]File{p: {Data: []byte("x"), Mode: 0o644}}, time.Now()); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}
