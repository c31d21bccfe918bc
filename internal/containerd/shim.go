package containerd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skiff/skiff/internal/mountinfo"
)

// ShimPIDs returns the process IDs of the containerd-shim processes that
// serve the containerd at address: they run with "-address <address>" and
// keep containers alive after containerd stops.
func ShimPIDs(address string) ([]int, error) {
	shims, err := findShims(address)
	pids := make([]int, 0, len(shims))
	for _, s := range shims {
		pids = append(pids, s.pid)
	}
	return pids, err
}

// shim is a running containerd-shim process.
type shim struct {
	pid           int
	namespace, id string
}

// shimSocketDir is where containerd 1.6 puts shim sockets whatever its
// configured state directory (defaults.DefaultStateDir + "/s").
const shimSocketDir = "/run/containerd/s"

// socketPath returns the socket containerd 1.6 gives the shim of (ns, id)
// for the containerd at address: the SHA-256 of "<address>/<ns>/<id>".
func (s shim) socketPath(address string) string {
	sum := sha256.Sum256([]byte(filepath.Join(address, s.namespace, s.id)))
	return filepath.Join(shimSocketDir, hex.EncodeToString(sum[:]))
}

func findShims(address string) ([]shim, error) {
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return nil, err
	}
	var shims []shim
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process exited meanwhile
		}
		args := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		s := shim{}
		ours := false
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "-address":
				ours = args[i+1] == address
			case "-namespace":
				s.namespace = args[i+1]
			case "-id":
				s.id = args[i+1]
			}
		}
		if !ours {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			s.pid = pid
			shims = append(shims, s)
		}
	}
	return shims, nil
}

// Teardown is the last resort of a node reset or a failed test, after
// containerd has stopped: it kills the shims of the containerd at address
// together with their containers (every descendant) and removes their
// sockets from /run/containerd/s, then lazily unmounts every mount under
// dirs (overlay root filesystems, sandbox /dev/shm, network namespaces),
// deepest first. Never call it while the node's containers should keep
// running.
func Teardown(address string, dirs ...string) error {
	shims, err := findShims(address)
	if err != nil {
		return err
	}
	var errs []error
	pids := make([]int, 0, len(shims))
	for _, s := range shims {
		pids = append(pids, s.pid)
	}
	for _, pid := range descendants(pids) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %d: %w", pid, err))
		}
	}
	for _, s := range shims {
		if s.id == "" || s.namespace == "" {
			continue
		}
		if err := os.Remove(s.socketPath(address)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := unmountUnder(dirs...); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// descendants returns roots and all their descendant processes.
func descendants(roots []int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat") // a fixed pattern cannot fail
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pid, err1 := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	seen := map[int]bool{}
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// unmountUnder lazily unmounts every mount point at or below dirs.
func unmountUnder(dirs ...string) error {
	points, err := mountinfo.PointsUnder(dirs...)
	if err != nil {
		return err
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, mp := range points {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}
