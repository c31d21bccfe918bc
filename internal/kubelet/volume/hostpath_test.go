package volume

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestCheckHostPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	missing := filepath.Join(dir, "missing")

	for _, tc := range []struct {
		name    string
		path    string
		typ     corev1.HostPathType
		wantErr string
	}{
		{"unset never checks", missing, corev1.HostPathUnset, ""},
		{"directory", dir, corev1.HostPathDirectory, ""},
		{"directory missing", missing, corev1.HostPathDirectory, "hostPath type check failed: " + missing + " is not a directory"},
		{"directory is a file", file, corev1.HostPathDirectory, "hostPath type check failed: " + file + " is not a directory"},
		{"directoryOrCreate on a file", file, corev1.HostPathDirectoryOrCreate, "hostPath type check failed: " + file + " is not a directory"},
		{"file", file, corev1.HostPathFile, ""},
		{"file missing", missing, corev1.HostPathFile, "hostPath type check failed: " + missing + " is not a file"},
		{"file is a dir", dir, corev1.HostPathFile, "hostPath type check failed: " + dir + " is not a file"},
		{"fileOrCreate on a dir", dir, corev1.HostPathFileOrCreate, "hostPath type check failed: " + dir + " is not a file"},
		{"socket", sock, corev1.HostPathSocket, ""},
		{"socket is a file", file, corev1.HostPathSocket, "hostPath type check failed: " + file + " is not a socket file"},
		{"char device", "/dev/null", corev1.HostPathCharDev, ""},
		{"char device is a file", file, corev1.HostPathCharDev, "hostPath type check failed: " + file + " is not a character device"},
		{"block device is a char device", "/dev/null", corev1.HostPathBlockDev, "hostPath type check failed: /dev/null is not a block device"},
		{"invalid type", dir, "Weird", "Weird is an invalid volume type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.typ
			err := checkHostPath(tc.path, &typ)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Errorf("error = %q, want %q", got, tc.wantErr)
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a check created %s", missing)
	}
}

func TestCheckHostPathCreates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := filepath.Join(dir, "a", "b")
	typ := corev1.HostPathDirectoryOrCreate
	if err := checkHostPath(d, &typ); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(d); err != nil || !info.IsDir() || info.Mode().Perm() != 0o755 {
		t.Errorf("DirectoryOrCreate made %v (%v), want a 0755 directory", info, err)
	}
	f := filepath.Join(dir, "f")
	typ = corev1.HostPathFileOrCreate
	if err := checkHostPath(f, &typ); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(f); err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o644 {
		t.Errorf("FileOrCreate made %v (%v), want a 0644 file", info, err)
	}
	// Like upstream, FileOrCreate does not create parent directories.
	if err := checkHostPath(filepath.Join(dir, "no", "f"), &typ); err == nil {
		t.Error("FileOrCreate created missing parents")
	}
}
