package volume

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestSetOwnership(t *testing.T) {
	t.Parallel()
	gid := int64(os.Getgid()) // a group the test may give files to
	pod := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{FSGroup: &gid}}}
	for _, tc := range []struct {
		name              string
		readOnly          bool
		wantFile, wantDir os.FileMode
	}{
		{"read-write", false, 0o660, 0o770 | os.ModeSetgid},
		{"read-only", true, 0o440, 0o750 | os.ModeSetgid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sub := filepath.Join(dir, "sub")
			if err := os.Mkdir(sub, 0o700); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(sub, "f")
			if err := os.WriteFile(file, nil, 0o400); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("sub/f", filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := setOwnership(pod, dir, tc.readOnly, false); err != nil {
				t.Fatal(err)
			}
			for path, want := range map[string]os.FileMode{file: tc.wantFile | 0o400, sub: tc.wantDir | 0o700, dir: tc.wantDir | 0o700} {
				info, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := info.Mode() & (os.ModePerm | os.ModeSetgid); got != want {
					t.Errorf("mode of %s = %v, want %v", path, got, want)
				}
				if st := info.Sys().(*syscall.Stat_t); int64(st.Gid) != gid {
					t.Errorf("group of %s = %d, want %d", path, st.Gid, gid)
				}
			}
		})
	}
	// Without fsGroup nothing changes.
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := setOwnership(&corev1.Pod{}, dir, false, true); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("mode without fsGroup = %v, want 0700", info.Mode().Perm())
	}
}
