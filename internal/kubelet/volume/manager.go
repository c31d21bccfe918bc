package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Plugin directory names under <pod>/volumes, upstream's.
const (
	pluginEmptyDir    = "kubernetes.io~empty-dir"
	pluginConfigMap   = "kubernetes.io~configmap"
	pluginSecret      = "kubernetes.io~secret"
	pluginDownwardAPI = "kubernetes.io~downward-api"
	pluginProjected   = "kubernetes.io~projected"
)

// annProvisionedBy and localPathProvisioner recognise the volumes of
// Skiff's local-path provisioner, whose directories the node creates.
const (
	annProvisionedBy     = "pv.kubernetes.io/provisioned-by"
	localPathProvisioner = "skiff.io/local-path"
)

// Mounter mounts and unmounts filesystems on the host.
type Mounter interface {
	// MountTmpfs mounts a tmpfs on dir, of sizeBytes (0: the kernel's
	// default).
	MountTmpfs(dir string, sizeBytes int64) error
	// IsMountPoint reports whether dir is a mount point.
	IsMountPoint(dir string) (bool, error)
	// MountPoints returns the mount points at or under dir.
	MountPoints(dir string) ([]string, error)
	// Unmount unmounts dir.
	Unmount(dir string) error
}

// Config configures a Manager. PodsDir and Objects are required.
type Config struct {
	// PodsDir holds a directory per pod UID (upstream's
	// /var/lib/kubelet/pods).
	PodsDir string
	// Objects fetches ConfigMaps, Secrets, claims and volumes.
	Objects Objects
	// Mounter defaults to HostMounter.
	Mounter Mounter
	// Allocatable returns the node's allocatable resources, which
	// resourceFieldRef reports for limits a container does not set.
	Allocatable func() corev1.ResourceList
	// Clock defaults to the real clock; Logger to slog.Default().
	Clock  clock.PassiveClock
	Logger *slog.Logger
}

// HostVolume is a volume as prepared on the host.
type HostVolume struct {
	// Path is the host path to bind into containers.
	Path string
	// ReadOnly volumes are mounted read-only whatever the volumeMount
	// says (configMap, secret, downwardAPI and projected ones, as
	// upstream).
	ReadOnly bool
}

// MountError is the failure to set up one volume of a pod.
type MountError struct {
	Volume string
	Err    error
}

// Error returns upstream's FailedMount event message.
func (e *MountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

func (e *MountError) Unwrap() error { return e.Err }

// Manager sets up and tears down the volumes of pods. Create it with
// New.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// setUp is when each pod's volumes were last set up, so that orphan
	// cleanup leaves alone a pod it raced with.
	setUp map[types.UID]time.Time
	// tokens caches service account tokens by pod and file path.
	tokens map[types.UID]map[string]cachedToken
	// last is each pod's volumes as its last SetUp prepared them.
	last map[types.UID]map[string]HostVolume
	// reported is when each failure message of a pod was last reported.
	reported map[types.UID]map[string]time.Time
}

type cachedToken struct {
	token   string
	refresh time.Time
}

// New returns a Manager for cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.PodsDir == "" || cfg.Objects == nil {
		return nil, errors.New("volume: PodsDir and Objects are required")
	}
	if cfg.Mounter == nil {
		cfg.Mounter = HostMounter{}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "volume"),
		setUp:    map[types.UID]time.Time{},
		tokens:   map[types.UID]map[string]cachedToken{},
		last:     map[types.UID]map[string]HostVolume{},
		reported: map[types.UID]map[string]time.Time{},
	}, nil
}

func (m *Manager) allocatable() corev1.ResourceList {
	if m.cfg.Allocatable == nil {
		return nil
	}
	return m.cfg.Allocatable()
}

// PodDir returns the directory of the pod with uid.
func (m *Manager) PodDir(uid types.UID) string {
	return filepath.Join(m.cfg.PodsDir, string(uid))
}

func (m *Manager) volumeDir(uid types.UID, plugin, name string) string {
	return filepath.Join(m.PodDir(uid), "volumes", plugin, name)
}

// SetUp prepares every volume of pod and returns their host paths by
// volume name. It is idempotent and cheap when nothing changed, and is
// meant to run at every sync of the pod: configMap, secret, downwardAPI
// and projected volumes are rewritten when their content changed. The
// volumes that could not be set up are left out of the map, each with a
// *MountError in errs.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod) (vols map[string]HostVolume, errs []error) {
	m.mu.Lock()
	m.setUp[pod.UID] = m.cfg.Clock.Now()
	m.mu.Unlock()
	vols = make(map[string]HostVolume, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		hv, err := m.setUpVolume(ctx, pod, v)
		if err != nil {
			errs = append(errs, &MountError{Volume: v.Name, Err: err})
			continue
		}
		vols[v.Name] = hv
	}
	m.mu.Lock()
	m.last[pod.UID] = vols
	m.mu.Unlock()
	return vols, errs
}

// Volumes returns the pod's volumes as its last SetUp prepared them (nil
// before the first). The map must not be modified.
func (m *Manager) Volumes(uid types.UID) map[string]HostVolume {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last[uid]
}

func (m *Manager) setUpVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (HostVolume, error) {
	now := m.cfg.Clock.Now()
	switch {
	case v.EmptyDir != nil:
		dir := m.volumeDir(pod.UID, pluginEmptyDir, v.Name)
		var err error
		switch v.EmptyDir.Medium {
		case corev1.StorageMediumDefault:
			err = m.makeDir(dir, 0o777, false, 0)
		case corev1.StorageMediumMemory:
			err = m.makeDir(dir, 0o777, true, m.memoryVolumeSize(pod, v.EmptyDir.SizeLimit))
		default:
			return HostVolume{}, fmt.Errorf("unsupported emptyDir medium %q", v.EmptyDir.Medium)
		}
		if err == nil {
			err = setOwnership(pod, dir, false, false)
		}
		return HostVolume{Path: dir}, err

	case v.HostPath != nil:
		return HostVolume{Path: v.HostPath.Path}, checkHostPath(v.HostPath.Path, v.HostPath.Type)

	case v.ConfigMap != nil:
		optional := v.ConfigMap.Optional != nil && *v.ConfigMap.Optional
		cm, err := m.cfg.Objects.ConfigMap(ctx, pod.Namespace, v.ConfigMap.Name)
		if err != nil {
			if !apierrors.IsNotFound(err) || !optional {
				return HostVolume{}, err
			}
			cm = &corev1.ConfigMap{}
		}
		files, err := configMapPayload(cm, v.ConfigMap.Items, v.ConfigMap.DefaultMode, optional)
		if err != nil {
			return HostVolume{}, err
		}
		return m.writeVolume(pod, pluginConfigMap, v.Name, false, files, now)

	case v.Secret != nil:
		optional := v.Secret.Optional != nil && *v.Secret.Optional
		s, err := m.cfg.Objects.Secret(ctx, pod.Namespace, v.Secret.SecretName)
		if err != nil {
			if !apierrors.IsNotFound(err) || !optional {
				return HostVolume{}, err
			}
			s = &corev1.Secret{}
		}
		files, err := secretPayload(s, v.Secret.Items, v.Secret.DefaultMode, optional)
		if err != nil {
			return HostVolume{}, err
		}
		return m.writeVolume(pod, pluginSecret, v.Name, true, files, now)

	case v.DownwardAPI != nil:
		files, err := downwardPayload(pod, v.DownwardAPI.Items, v.DownwardAPI.DefaultMode, m.allocatable())
		if err != nil {
			return HostVolume{}, err
		}
		return m.writeVolume(pod, pluginDownwardAPI, v.Name, false, files, now)

	case v.Projected != nil:
		files, err := m.projectedPayload(ctx, pod, v.Projected)
		if err != nil {
			return HostVolume{}, err
		}
		return m.writeVolume(pod, pluginProjected, v.Name, true, files, now)

	case v.PersistentVolumeClaim != nil:
		return m.claimVolume(ctx, pod, v.PersistentVolumeClaim, false)

	case v.Ephemeral != nil:
		// A generic ephemeral volume is the claim <pod>-<volume>, which
		// must be the pod's own.
		src := &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pod.Name + "-" + v.Name}
		return m.claimVolume(ctx, pod, src, true)
	}
	return HostVolume{}, errors.New("unsupported volume type")
}

// memoryVolumeSize is the size of a memory-backed emptyDir, as upstream
// sizes it: the node's allocatable memory, or less the pod's memory limit
// (when every container has one), or less the volume's sizeLimit.
func (m *Manager) memoryVolumeSize(pod *corev1.Pod, sizeLimit *resource.Quantity) int64 {
	size := int64(0)
	if q, ok := m.allocatable()[corev1.ResourceMemory]; ok {
		size = q.Value()
	}
	if limit := podMemoryLimit(pod); limit > 0 && (size == 0 || limit < size) {
		size = limit
	}
	if sizeLimit != nil && sizeLimit.Value() > 0 && (size == 0 || sizeLimit.Value() < size) {
		size = sizeLimit.Value()
	}
	return size
}

// podMemoryLimit is the memory limit of the pod's cgroup: the sum of its
// containers' limits, at least the largest init container's, or 0 when a
// container has none.
func podMemoryLimit(pod *corev1.Pod) int64 {
	var sum, initMax int64
	for _, c := range pod.Spec.Containers {
		q, ok := c.Resources.Limits[corev1.ResourceMemory]
		if !ok || q.IsZero() {
			return 0
		}
		sum += q.Value()
	}
	for _, c := range pod.Spec.InitContainers {
		q, ok := c.Resources.Limits[corev1.ResourceMemory]
		if !ok || q.IsZero() {
			return 0
		}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sum += q.Value() // a sidecar runs beside the app containers
		} else if q.Value() > initMax {
			initMax = q.Value()
		}
	}
	return max(sum, initMax)
}

// makeDir makes dir with mode perm, on a tmpfs of size when tmpfs says
// so.
func (m *Manager) makeDir(dir string, perm os.FileMode, tmpfs bool, size int64) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if tmpfs {
		mounted, err := m.cfg.Mounter.IsMountPoint(dir)
		if err != nil {
			return err
		}
		if !mounted {
			if err := m.cfg.Mounter.MountTmpfs(dir, size); err != nil {
				return err
			}
		}
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if info.Mode().Perm() != perm {
		return os.Chmod(dir, perm)
	}
	return nil
}

// writeVolume writes files into the volume dir atomically, on a tmpfs
// when tmpfs says so.
func (m *Manager) writeVolume(pod *corev1.Pod, plugin, name string, tmpfs bool, files map[string]File, now time.Time) (HostVolume, error) {
	dir := m.volumeDir(pod.UID, plugin, name)
	if err := m.makeDir(dir, 0o755, tmpfs, 0); err != nil {
		return HostVolume{}, err
	}
	changed, err := WriteAtomic(dir, files, now)
	if err != nil {
		return HostVolume{}, err
	}
	if changed {
		m.log.Debug("Wrote volume", "pod", pod.Namespace+"/"+pod.Name, "volume", name, "files", len(files))
	}
	if err := setOwnership(pod, dir, true, changed); err != nil {
		return HostVolume{}, err
	}
	return HostVolume{Path: dir, ReadOnly: true}, nil
}

// claimVolume returns the host path of the PersistentVolume bound to a
// pod's claim: a local or hostPath volume.
func (m *Manager) claimVolume(ctx context.Context, pod *corev1.Pod, src *corev1.PersistentVolumeClaimVolumeSource, ephemeral bool) (HostVolume, error) {
	claim, err := m.cfg.Objects.PersistentVolumeClaim(ctx, pod.Namespace, src.ClaimName)
	if err != nil {
		return HostVolume{}, fmt.Errorf("error processing PVC %s/%s: failed to fetch PVC from API server: %w", pod.Namespace, src.ClaimName, err)
	}
	if ephemeral && !metav1.IsControlledBy(claim, pod) {
		return HostVolume{}, fmt.Errorf("error processing PVC %s/%s: PVC %s/%s was not created for pod %s/%s (pod is not owner)",
			pod.Namespace, src.ClaimName, pod.Namespace, src.ClaimName, pod.Namespace, pod.Name)
	}
	if claim.Status.Phase != corev1.ClaimBound || claim.Spec.VolumeName == "" {
		return HostVolume{}, fmt.Errorf("error processing PVC %s/%s: PVC is not bound", pod.Namespace, src.ClaimName)
	}
	pv, err := m.cfg.Objects.PersistentVolume(ctx, claim.Spec.VolumeName)
	if err != nil {
		return HostVolume{}, fmt.Errorf("error processing PVC %s/%s: failed to fetch PV %s from API server: %w", pod.Namespace, src.ClaimName, claim.Spec.VolumeName, err)
	}
	switch {
	case pv.Spec.Local != nil:
		path := pv.Spec.Local.Path
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && pv.Annotations[annProvisionedBy] == localPathProvisioner {
			// The provisioner creates the directories of its own node
			// only; this node makes its own.
			if err := os.MkdirAll(path, 0o777); err != nil {
				return HostVolume{}, err
			}
			if err := os.Chmod(path, 0o777); err != nil { //nolint:gosec // volumes are shared with arbitrary pod users
				return HostVolume{}, err
			}
		} else if err != nil {
			return HostVolume{}, fmt.Errorf("path %q does not exist", path)
		}
		if err := setOwnership(pod, path, src.ReadOnly, false); err != nil {
			return HostVolume{}, err
		}
		return HostVolume{Path: path, ReadOnly: src.ReadOnly}, nil
	case pv.Spec.HostPath != nil:
		if err := checkHostPath(pv.Spec.HostPath.Path, pv.Spec.HostPath.Type); err != nil {
			return HostVolume{}, err
		}
		return HostVolume{Path: pv.Spec.HostPath.Path, ReadOnly: src.ReadOnly}, nil
	}
	return HostVolume{}, fmt.Errorf("persistent volume %s: only local and hostPath volumes are supported", pv.Name)
}

// token returns the service account token of a projection, requesting a
// new one when the cached one reached 80% of its lifetime, as upstream's
// token manager does. It returns "" without error when the API server
// does not serve the token subresource.
func (m *Manager) token(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) (string, error) {
	now := m.cfg.Clock.Now()
	m.mu.Lock()
	c, ok := m.tokens[pod.UID][p.Path]
	m.mu.Unlock()
	if ok && now.Before(c.refresh) {
		return c.token, nil
	}
	exp := int64(3600)
	if p.ExpirationSeconds != nil {
		exp = *p.ExpirationSeconds
	}
	tok, err := m.cfg.Objects.ServiceAccountToken(ctx, pod, p.Audience, exp)
	if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
		m.log.Debug("The API server does not serve service account tokens; leaving the projection out", "pod", pod.Namespace+"/"+pod.Name)
		tok, err = "", nil
		exp = 60 // ask again now and then
	}
	if err != nil {
		if ok {
			return c.token, nil // keep the old one while it is valid
		}
		return "", err
	}
	m.mu.Lock()
	if m.tokens[pod.UID] == nil {
		m.tokens[pod.UID] = map[string]cachedToken{}
	}
	m.tokens[pod.UID][p.Path] = cachedToken{token: tok, refresh: now.Add(time.Duration(exp) * time.Second * 8 / 10)}
	m.mu.Unlock()
	return tok, nil
}

// TearDown unmounts every mount under the pod's directory and removes
// it. It leaves the directory in place if an unmount fails, so that it
// never deletes through a mount.
func (m *Manager) TearDown(uid types.UID) error {
	m.mu.Lock()
	delete(m.setUp, uid)
	delete(m.tokens, uid)
	delete(m.last, uid)
	delete(m.reported, uid)
	m.mu.Unlock()
	dir := m.PodDir(uid)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	points, err := m.cfg.Mounter.MountPoints(dir)
	if err != nil {
		return err
	}
	// Deepest first, in case mounts nest.
	slices.SortFunc(points, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, p := range points {
		if err := m.cfg.Mounter.Unmount(p); err != nil {
			return fmt.Errorf("tear down volumes of pod %s: %w", uid, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("tear down volumes of pod %s: %w", uid, err)
	}
	return nil
}

// ReportInterval is how often the same failure of a pod is reported
// again: a failing pod is retried every few seconds, and an event each
// time would only bump its count.
const ReportInterval = 30 * time.Second

// ShouldReport reports whether msg, a failure of the pod with uid, is due
// to be reported (as an event): not reported within ReportInterval.
func (m *Manager) ShouldReport(uid types.UID, msg string) bool {
	now := m.cfg.Clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	last, ok := m.reported[uid][msg]
	if ok && now.Sub(last) < ReportInterval {
		return false
	}
	if m.reported[uid] == nil {
		m.reported[uid] = map[string]time.Time{}
	}
	m.reported[uid][msg] = now
	return true
}

// orphanAge is how long after its last SetUp a pod's directory is safe
// from CleanupOrphans: a pod that has just appeared may be set up by a
// worker while the caller's list of pods predates it.
const orphanAge = time.Minute

// CleanupOrphans tears down the directories of pods that are not in
// keep and were not set up recently.
func (m *Manager) CleanupOrphans(keep map[types.UID]bool) error {
	entries, err := os.ReadDir(m.cfg.PodsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	now := m.cfg.Clock.Now()
	var errs []error
	for _, e := range entries {
		uid := types.UID(e.Name())
		if !e.IsDir() || keep[uid] {
			continue
		}
		m.mu.Lock()
		last, ok := m.setUp[uid]
		m.mu.Unlock()
		if ok && now.Sub(last) < orphanAge {
			continue
		}
		m.log.Info("Removing the volumes of a deleted pod", "uid", uid)
		errs = append(errs, m.TearDown(uid))
	}
	return errors.Join(errs...)
}
