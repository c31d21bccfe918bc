package volume

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// Masks upstream's kubelet adds to the files of a volume owned by the
// pod's fsGroup: group read (and write unless the volume is read-only),
// and on directories group search plus setgid, so that files created
// later inherit the group.
const (
	rwMask   = 0o660
	roMask   = 0o440
	execMask = 0o110
)

// fsGroup returns the pod's fsGroup, or -1.
func fsGroup(pod *corev1.Pod) int {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		return int(*sc.FSGroup)
	}
	return -1
}

// setOwnership gives the volume at dir to the pod's fsGroup, as upstream's
// SetVolumeOwnership does, when the pod has one and force is set or dir's
// own group differs (upstream's OnRootMismatch: done once, as files
// created afterwards inherit the group). Symlinks are not followed.
func setOwnership(pod *corev1.Pod, dir string, readOnly, force bool) error {
	gid := fsGroup(pod)
	if gid < 0 {
		return nil
	}
	if !force {
		info, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Gid) == gid && info.Mode()&os.ModeSetgid != 0 {
			return nil
		}
	}
	mask := os.FileMode(rwMask)
	if readOnly {
		mask = roMask
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, gid); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := mask
		if d.IsDir() {
			m |= os.ModeSetgid | execMask
		}
		return os.Chmod(path, info.Mode()&(fs.ModePerm|os.ModeSetgid)|m)
	})
}
