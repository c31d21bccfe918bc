package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Mounts returns the CRI mounts of container c's volumeMounts, given the
// pod's volumes as SetUp returned them. expand expands $(VAR) references
// in subPathExpr with the container's environment. Missing subPath
// directories are created with the mode of the volume's root, as
// upstream does, and a subPath may not lead out of its volume.
func Mounts(c *corev1.Container, vols map[string]HostVolume, expand func(string) string) ([]*runtimeapi.Mount, error) {
	out := make([]*runtimeapi.Mount, 0, len(c.VolumeMounts))
	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		hv, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		hostPath := hv.Path
		subPath := vm.SubPath
		if vm.SubPathExpr != "" && expand != nil {
			subPath = expand(vm.SubPathExpr)
		}
		if subPath != "" {
			p, err := subPathHost(hv.Path, subPath, vm.Name, c.Name)
			if err != nil {
				return nil, err
			}
			hostPath = p
		}
		out = append(out, &runtimeapi.Mount{
			ContainerPath: vm.MountPath,
			HostPath:      hostPath,
			Readonly:      vm.ReadOnly || hv.ReadOnly,
			Propagation:   propagation(vm.MountPropagation),
		})
	}
	return out, nil
}

// subPathHost returns the host path of subPath within the volume at
// root, creating it as a directory when missing.
func subPathHost(root, subPath, volume, container string) (string, error) {
	if filepath.IsAbs(subPath) {
		return "", fmt.Errorf("error SubPath `%s` must not be an absolute path", subPath)
	}
	for _, part := range strings.Split(filepath.ToSlash(subPath), "/") {
		if part == ".." {
			return "", fmt.Errorf("unable to provision SubPath `%s`: must not contain '..'", subPath)
		}
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("volume %q of container %q: %w", volume, container, err)
	}
	host := filepath.Join(root, subPath)
	if _, err := os.Lstat(host); errors.Is(err, fs.ErrNotExist) {
		info, err := os.Stat(realRoot)
		if err != nil {
			return "", err
		}
		if err := makeDirWithin(realRoot, subPath, info.Mode().Perm()); err != nil {
			return "", fmt.Errorf("failed to create subPath directory for volumeMount %q of container %q", volume, container)
		}
	}
	// Resolve symlinks (those of configMap volumes among them) and make
	// sure the result stays inside the volume.
	real, err := filepath.EvalSymlinks(host)
	if err != nil {
		return "", fmt.Errorf("volume %q of container %q: %w", volume, container, err)
	}
	if real != realRoot && !strings.HasPrefix(real, realRoot+"/") {
		return "", fmt.Errorf("subpath %q not within volume path %q", real, realRoot)
	}
	return real, nil
}

// makeDirWithin creates the directories of rel under root one level at a
// time with mode perm, refusing to follow a symlink out of root.
func makeDirWithin(root, rel string, perm os.FileMode) error {
	cur := root
	for _, part := range strings.Split(filepath.Clean(rel), "/") {
		cur = filepath.Join(cur, part)
		info, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(cur, perm); err != nil {
				return err
			}
			// Mkdir's mode is filtered by the umask.
			if err := os.Chmod(cur, perm); err != nil {
				return err
			}
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			real, err := filepath.EvalSymlinks(cur)
			if err != nil {
				return err
			}
			if real != root && !strings.HasPrefix(real, root+"/") {
				return fmt.Errorf("%s leads out of the volume", cur)
			}
			cur = real
		}
	}
	return nil
}

func propagation(p *corev1.MountPropagationMode) runtimeapi.MountPropagation {
	if p == nil {
		return runtimeapi.MountPropagation_PROPAGATION_PRIVATE
	}
	switch *p {
	case corev1.MountPropagationHostToContainer:
		return runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
	case corev1.MountPropagationBidirectional:
		return runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
	}
	return runtimeapi.MountPropagation_PROPAGATION_PRIVATE
}
