package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// checkHostPath makes sure path is what typ says, creating it for the
// ...OrCreate types, with upstream's messages when it is not.
func checkHostPath(path string, typ *corev1.HostPathType) error {
	t := corev1.HostPathUnset
	if typ != nil {
		t = *typ
	}
	mode, exists, err := statMode(path)
	if err != nil {
		return err
	}
	switch t {
	case corev1.HostPathUnset:
		return nil // no check, the runtime creates a missing directory
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
			// MkdirAll's mode is filtered by the umask.
			return os.Chmod(path, 0o755)
		}
		fallthrough
	case corev1.HostPathDirectory:
		if !exists || !mode.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", path)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			// Like upstream, the parent directory must already exist.
			f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return os.Chmod(path, 0o644)
		}
		fallthrough
	case corev1.HostPathFile:
		if !exists || !mode.IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", path)
		}
	case corev1.HostPathSocket:
		if !exists || mode.Type() != fs.ModeSocket {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", path)
		}
	case corev1.HostPathCharDev:
		if !exists || mode.Type() != fs.ModeDevice|fs.ModeCharDevice {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", path)
		}
	case corev1.HostPathBlockDev:
		if !exists || mode.Type() != fs.ModeDevice {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", path)
		}
	default:
		return fmt.Errorf("%s is an invalid volume type", t)
	}
	return nil
}

// statMode returns the mode of path, following symlinks as the runtime's
// bind mount does.
func statMode(path string) (fs.FileMode, bool, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return info.Mode(), true, nil
}
