package volume

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/skiff/skiff/internal/mountinfo"
)

// HostMounter is the Mounter of the host, through mount(2). It needs
// root (CAP_SYS_ADMIN).
type HostMounter struct{}

// MountTmpfs mounts a tmpfs on dir.
func (HostMounter) MountTmpfs(dir string, sizeBytes int64) error {
	opts := ""
	if sizeBytes > 0 {
		opts = "size=" + strconv.FormatInt(sizeBytes, 10)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// IsMountPoint reports whether dir is on another device than its parent
// (cheap enough to ask at every sync; bind mounts of the same filesystem
// are not told apart, and the volumes here never are such).
func (HostMounter) IsMountPoint(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return false, err
	}
	if err := unix.Lstat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// MountPoints returns the mount points at or under dir, from
// /proc/self/mountinfo.
func (HostMounter) MountPoints(dir string) ([]string, error) {
	return mountinfo.PointsUnder(dir)
}

// Unmount unmounts dir, lazily if it is busy.
func (HostMounter) Unmount(dir string) error {
	err := unix.Unmount(dir, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(dir, unix.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, unix.EINVAL) { // EINVAL: not mounted (any more)
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	return nil
}
