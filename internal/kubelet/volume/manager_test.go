package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeObjects serves objects from maps, with upstream's not-found errors.
type fakeObjects struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	claims     map[string]*corev1.PersistentVolumeClaim
	volumes    map[string]*corev1.PersistentVolume
	token      string
}

func (f *fakeObjects) ConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if cm, ok := f.configMaps[name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("configmap"), name)
}

func (f *fakeObjects) Secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if s, ok := f.secrets[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("secret"), name)
}

func (f *fakeObjects) PersistentVolumeClaim(_ context.Context, _, name string) (*corev1.PersistentVolumeClaim, error) {
	if c, ok := f.claims[name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumeclaims"), name)
}

func (f *fakeObjects) PersistentVolume(_ context.Context, name string) (*corev1.PersistentVolume, error) {
	if v, ok := f.volumes[name]; ok {
		return v, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("persistentvolumes"), name)
}

func (f *fakeObjects) ServiceAccountToken(context.Context, *corev1.Pod, string, int64) (string, error) {
	if f.token == "" {
		return "", apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts/token"}, "default")
	}
	return f.token, nil
}

// fakeMounter records tmpfs mounts instead of making them.
type fakeMounter struct {
	mu     sync.Mutex
	mounts map[string]int64
}

func (m *fakeMounter) MountTmpfs(dir string, size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mounts == nil {
		m.mounts = map[string]int64{}
	}
	m.mounts[dir] = size
	return nil
}

func (m *fakeMounter) IsMountPoint(dir string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.mounts[dir]
	return ok, nil
}

func (m *fakeMounter) MountPoints(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for p := range m.mounts {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	return out, nil
}

func (m *fakeMounter) Unmount(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mounts, dir)
	return nil
}

func ptr[T any](v T) *T { return &v }

func newTestManager(t *testing.T, objs *fakeObjects) (*Manager, *fakeMounter, *clocktesting.FakeClock) {
	t.Helper()
	mnt := &fakeMounter{}
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC))
	m, err := New(Config{
		PodsDir: filepath.Join(t.TempDir(), "pods"), Objects: objs, Mounter: mnt, Clock: clk,
		Allocatable: func() corev1.ResourceList {
			return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, mnt, clk
}

func testPod(vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "ns", UID: "uid-1",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "a \"quoted\" value"},
		},
		Spec: corev1.PodSpec{
			Volumes: vols,
			Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
			}}},
		},
	}
}

// files reads every visible file of a volume dir.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	return readVolume(t, dir)
}

func TestSetUpVolumes(t *testing.T) {
	t.Parallel()
	objs := &fakeObjects{
		configMaps: map[string]*corev1.ConfigMap{"cfg": {
			Data:       map[string]string{"a": "A", "b": "B"},
			BinaryData: map[string][]byte{"bin": {0, 1}},
		}},
		secrets: map[string]*corev1.Secret{"sec": {Data: map[string][]byte{"user": []byte("admin"), "pass": []byte("pw")}}},
		token:   "tok",
	}
	for _, tc := range []struct {
		name      string
		vol       corev1.VolumeSource
		wantDir   string // relative to the pod's volumes dir
		wantFiles map[string]string
		wantModes map[string]os.FileMode
		wantTmpfs bool
		wantErr   string
	}{
		{
			name: "configMap, all keys", vol: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
			wantDir:   "kubernetes.io~configmap/v",
			wantFiles: map[string]string{"a": "A", "b": "B", "bin": "\x00\x01"},
			wantModes: map[string]os.FileMode{"a": 0o644},
		},
		{
			name: "configMap items and modes", vol: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
				Items:                []corev1.KeyToPath{{Key: "a", Path: "dir/x"}, {Key: "b", Path: "y", Mode: ptr[int32](0o600)}},
				DefaultMode:          ptr[int32](0o640)}},
			wantDir:   "kubernetes.io~configmap/v",
			wantFiles: map[string]string{"dir/x": "A", "y": "B"},
			wantModes: map[string]os.FileMode{"dir/x": 0o640, "y": 0o600},
		},
		{
			name: "configMap missing", vol: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}},
			wantErr: `MountVolume.SetUp failed for volume "v" : configmap "nope" not found`,
		},
		{
			name: "configMap missing, optional", vol: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr(true)}},
			wantDir: "kubernetes.io~configmap/v", wantFiles: map[string]string{},
		},
		{
			name: "configMap missing key", vol: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "zz", Path: "zz"}}}},
			wantErr: `MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: zz`,
		},
		{
			name: "configMap missing key, optional", vol: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Optional: ptr(true),
				Items: []corev1.KeyToPath{{Key: "zz", Path: "zz"}, {Key: "a", Path: "a"}}}},
			wantDir: "kubernetes.io~configmap/v", wantFiles: map[string]string{"a": "A"},
		},
		{
			name: "secret on tmpfs", vol: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec", DefaultMode: ptr[int32](0o400)}},
			wantDir: "kubernetes.io~secret/v", wantTmpfs: true,
			wantFiles: map[string]string{"user": "admin", "pass": "pw"},
			wantModes: map[string]os.FileMode{"user": 0o400},
		},
		{
			name: "secret missing key", vol: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec",
				Items: []corev1.KeyToPath{{Key: "zz", Path: "zz"}}}},
			wantErr: `MountVolume.SetUp failed for volume "v" : secret references non-existent secret key: zz`,
		},
		{
			name: "secret missing", vol: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope"}},
			wantErr: `MountVolume.SetUp failed for volume "v" : secret "nope" not found`,
		},
		{
			name: "downwardAPI", vol: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				{Path: "app", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}},
				{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
				{Path: "uid", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}},
				{Path: "mem_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
				{Path: "cpu_limit", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu"}},
				{Path: "cpu_request", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "requests.cpu", Divisor: resource.MustParse("1m")}},
			}}},
			wantDir: "kubernetes.io~downward-api/v",
			wantFiles: map[string]string{
				"name": "web", "labels": "app=\"web\"\ntier=\"front\"", "app": "web",
				"annotations": `note="a \"quoted\" value"`, "uid": "uid-1",
				"mem_limit": "64", "cpu_limit": "4", "cpu_request": "250",
			},
		},
		{
			name: "projected", vol: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "a", Path: "cfg/a"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Items: []corev1.KeyToPath{{Key: "user", Path: "sec/user"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr(true)}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}}},
			wantDir: "kubernetes.io~projected/v", wantTmpfs: true,
			wantFiles: map[string]string{"cfg/a": "A", "sec/user": "admin", "ns": "ns", "token": "tok"},
		},
		{
			name: "projected missing secret", vol: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}},
			}}},
			wantErr: `MountVolume.SetUp failed for volume "v" : secret "nope" not found`,
		},
		{
			name: "emptyDir", vol: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
			wantDir: "kubernetes.io~empty-dir/v", wantFiles: map[string]string{},
		},
		{
			name: "emptyDir unsupported medium", vol: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: "Tape"}},
			wantErr: `MountVolume.SetUp failed for volume "v" : unsupported emptyDir medium "Tape"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, mnt, _ := newTestManager(t, objs)
			pod := testPod(corev1.Volume{Name: "v", VolumeSource: tc.vol})
			vols, errs := m.SetUp(context.Background(), pod)
			if tc.wantErr != "" {
				if len(errs) != 1 || errs[0].Error() != tc.wantErr {
					t.Fatalf("errors = %v, want %q", errs, tc.wantErr)
				}
				if _, ok := vols["v"]; ok {
					t.Error("a failed volume has a path")
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("SetUp: %v", errs)
			}
			dir := filepath.Join(m.PodDir(pod.UID), "volumes", tc.wantDir)
			if vols["v"].Path != dir {
				t.Errorf("path = %q, want %q", vols["v"].Path, dir)
			}
			if tc.vol.EmptyDir == nil {
				if diff := cmp.Diff(tc.wantFiles, files(t, dir)); diff != "" {
					t.Errorf("files (-want +got):\n%s", diff)
				}
				if !vols["v"].ReadOnly {
					t.Error("projected content is mounted read-write")
				}
			}
			for p, mode := range tc.wantModes {
				info, err := os.Stat(filepath.Join(dir, p))
				if err != nil || info.Mode().Perm() != mode {
					t.Errorf("mode of %s = %v (%v), want %v", p, info.Mode().Perm(), err, mode)
				}
			}
			if mounted, _ := mnt.IsMountPoint(dir); mounted != tc.wantTmpfs {
				t.Errorf("tmpfs mounted = %v, want %v", mounted, tc.wantTmpfs)
			}
		})
	}
}

func TestSetUpRefreshesAndTearsDown(t *testing.T) {
	t.Parallel()
	cm := &corev1.ConfigMap{Data: map[string]string{"k": "v1"}}
	objs := &fakeObjects{configMaps: map[string]*corev1.ConfigMap{"cfg": cm}}
	m, mnt, clk := newTestManager(t, objs)
	pod := testPod(
		corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		corev1.Volume{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr(resource.MustParse("16Mi"))}}},
	)
	ctx := context.Background()
	vols, errs := m.SetUp(ctx, pod)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := mnt.mounts[vols["mem"].Path]; got != 16<<20 {
		t.Errorf("tmpfs size = %d, want %d", got, 16<<20)
	}
	if info, _ := os.Stat(vols["mem"].Path); info.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir mode = %v, want 0777", info.Mode().Perm())
	}
	cm.Data["k"] = "v2"
	clk.Step(time.Second)
	if _, errs := m.SetUp(ctx, pod); len(errs) > 0 {
		t.Fatal(errs)
	}
	if b, _ := os.ReadFile(filepath.Join(vols["cfg"].Path, "k")); string(b) != "v2" {
		t.Errorf("after the update k = %q, want v2", b)
	}

	// A pod still known or set up recently is left alone.
	if err := m.CleanupOrphans(map[types.UID]bool{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.PodDir(pod.UID)); err != nil {
		t.Fatalf("a just set up pod was cleaned up: %v", err)
	}
	clk.Step(2 * orphanAge)
	if err := m.CleanupOrphans(map[types.UID]bool{pod.UID: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.PodDir(pod.UID)); err != nil {
		t.Fatalf("a kept pod was cleaned up: %v", err)
	}
	if err := m.CleanupOrphans(map[types.UID]bool{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.PodDir(pod.UID)); !os.IsNotExist(err) {
		t.Errorf("pod dir still there: %v", err)
	}
	if len(mnt.mounts) != 0 {
		t.Errorf("mounts left: %v", mnt.mounts)
	}
}

func TestSetUpClaims(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	local := filepath.Join(base, "pvc-1")
	hostDir := filepath.Join(base, "host")
	if err := os.Mkdir(hostDir, 0o755); err != nil {
		t.Fatal(err)
	}
	objs := &fakeObjects{
		claims: map[string]*corev1.PersistentVolumeClaim{
			"data":    {Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-local"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}},
			"host":    {Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-host"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}},
			"pending": {Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
		},
		volumes: map[string]*corev1.PersistentVolume{
			"pv-local": {ObjectMeta: metav1.ObjectMeta{Name: "pv-local", Annotations: map[string]string{annProvisionedBy: localPathProvisioner}},
				Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: local}}}},
			"pv-host": {ObjectMeta: metav1.ObjectMeta{Name: "pv-host"},
				Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir}}}},
		},
	}
	m, _, _ := newTestManager(t, objs)
	claim := func(vol, name string, ro bool) corev1.Volume {
		return corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name, ReadOnly: ro}}}
	}
	objs.claims["web-eph"] = &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "Pod", Name: "web", UID: "uid-1", Controller: ptr(true)}}},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: "pv-host"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
	objs.claims["web-stolen"] = &corev1.PersistentVolumeClaim{
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-host"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
	ephemeral := func(vol string) corev1.Volume {
		return corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}}
	}
	pod := testPod(claim("a", "data", false), claim("b", "host", true), claim("c", "pending", false), claim("d", "gone", false), ephemeral("eph"), ephemeral("stolen"))
	vols, errs := m.SetUp(context.Background(), pod)
	if diff := cmp.Diff(map[string]HostVolume{"a": {Path: local}, "b": {Path: hostDir, ReadOnly: true}, "eph": {Path: hostDir}}, vols); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		`MountVolume.SetUp failed for volume "c" : error processing PVC ns/pending: PVC is not bound`,
		`MountVolume.SetUp failed for volume "d" : error processing PVC ns/gone: failed to fetch PVC from API server: persistentvolumeclaims "gone" not found`,
		`MountVolume.SetUp failed for volume "stolen" : error processing PVC ns/web-stolen: PVC ns/web-stolen was not created for pod ns/web (pod is not owner)`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if info, err := os.Stat(local); err != nil || !info.IsDir() {
		t.Errorf("the local-path directory was not created: %v", err)
	}
}

func TestMounts(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	vol := filepath.Join(root, "vol")
	if err := os.Mkdir(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(vol, 0o777); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "cfg")
	if _, err := WriteAtomic(cfg, map[string]File{"key": {Data: []byte("x"), Mode: 0o644}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(root, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(vol, "escape")); err != nil {
		t.Fatal(err)
	}
	vols := map[string]HostVolume{"vol": {Path: vol}, "cfg": {Path: cfg, ReadOnly: true}}
	hostToContainer := corev1.MountPropagationHostToContainer
	expand := func(s string) string { return strings.ReplaceAll(s, "$(POD)", "web") }

	c := &corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{
		{Name: "vol", MountPath: "/data"},
		{Name: "vol", MountPath: "/sub", SubPath: "a/b", ReadOnly: true},
		{Name: "vol", MountPath: "/expr", SubPathExpr: "logs/$(POD)", MountPropagation: &hostToContainer},
		{Name: "cfg", MountPath: "/etc/key", SubPath: "key"},
	}}
	got, err := Mounts(c, vols, expand)
	if err != nil {
		t.Fatal(err)
	}
	realCfg, _ := filepath.EvalSymlinks(filepath.Join(cfg, "key"))
	want := []*runtimeapi.Mount{
		{ContainerPath: "/data", HostPath: vol, Propagation: runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
		{ContainerPath: "/sub", HostPath: filepath.Join(vol, "a/b"), Readonly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
		{ContainerPath: "/expr", HostPath: filepath.Join(vol, "logs/web"), Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		{ContainerPath: "/etc/key", HostPath: realCfg, Readonly: true, Propagation: runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b *runtimeapi.Mount) bool { return a.String() == b.String() })); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	for _, d := range []string{"a", "a/b", "logs/web"} {
		if info, err := os.Stat(filepath.Join(vol, d)); err != nil || info.Mode().Perm() != 0o777 {
			t.Errorf("subPath dir %s: %v (%v), want mode 0777 like the volume", d, info, err)
		}
	}

	for _, tc := range []struct {
		name    string
		mount   corev1.VolumeMount
		wantErr string
	}{
		{"unknown volume", corev1.VolumeMount{Name: "nope", MountPath: "/x"}, `cannot find volume "nope" to mount into container "c"`},
		{"absolute subPath", corev1.VolumeMount{Name: "vol", MountPath: "/x", SubPath: "/etc"}, "error SubPath `/etc` must not be an absolute path"},
		{"backstep", corev1.VolumeMount{Name: "vol", MountPath: "/x", SubPath: "a/../../x"}, "unable to provision SubPath `a/../../x`: must not contain '..'"},
		{"symlink escape", corev1.VolumeMount{Name: "vol", MountPath: "/x", SubPath: "escape"}, "not within volume path"},
		{"symlink escape when creating", corev1.VolumeMount{Name: "vol", MountPath: "/x", SubPath: "escape/new"}, `failed to create subPath directory for volumeMount "vol" of container "c"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Mounts(&corev1.Container{Name: "c", VolumeMounts: []corev1.VolumeMount{tc.mount}}, vols, expand)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("a subPath created %v outside its volume", entries)
	}
}

func TestFieldAndResourceValues(t *testing.T) {
	t.Parallel()
	pod := testPod()
	pod.Spec.NodeName, pod.Spec.ServiceAccountName = "n1", "sa"
	addrs := PodAddresses{PodIPs: []string{"10.42.0.5", "fd00::5"}, HostIPs: []string{"192.168.1.2"}}
	for path, want := range map[string]string{
		"metadata.name": "web", "metadata.namespace": "ns", "metadata.uid": "uid-1",
		"metadata.labels['tier']": "front", "metadata.annotations['missing']": "",
		"spec.nodeName": "n1", "spec.serviceAccountName": "sa",
		"status.podIP": "10.42.0.5", "status.podIPs": "10.42.0.5,fd00::5",
		"status.hostIP": "192.168.1.2", "status.hostIPs": "192.168.1.2",
	} {
		if got, err := FieldValue(pod, path, addrs); err != nil || got != want {
			t.Errorf("FieldValue(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := FieldValue(pod, "spec.bogus", addrs); err == nil || err.Error() != "unsupported fieldPath: spec.bogus" {
		t.Errorf("FieldValue(spec.bogus) error = %v", err)
	}
	alloc := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
	c := &pod.Spec.Containers[0]
	for _, tc := range []struct {
		res, divisor, want string
	}{
		{"limits.memory", "", "67108864"},
		{"limits.memory", "1Mi", "64"},
		{"limits.memory", "1G", "1"}, // rounded up
		{"limits.cpu", "", "4"},      // node allocatable
		{"limits.cpu", "1m", "4000"},
		{"requests.cpu", "", "1"}, // 250m rounded up
		{"requests.cpu", "1m", "250"},
		{"requests.memory", "", "0"},
	} {
		ref := &corev1.ResourceFieldSelector{Resource: tc.res}
		if tc.divisor != "" {
			ref.Divisor = resource.MustParse(tc.divisor)
		}
		if got, err := ResourceValue(ref, c, alloc); err != nil || got != tc.want {
			t.Errorf("ResourceValue(%s / %s) = %q, %v; want %q", tc.res, tc.divisor, got, err, tc.want)
		}
	}
	if _, err := ResourceValue(&corev1.ResourceFieldSelector{Resource: "limits.gpu"}, c, alloc); err == nil {
		t.Error("limits.gpu accepted")
	}
}

func TestShouldReport(t *testing.T) {
	t.Parallel()
	m, _, clk := newTestManager(t, &fakeObjects{})
	steps := []struct {
		uid     types.UID
		msg     string
		advance time.Duration
		want    bool
	}{
		{"a", "boom", 0, true},
		{"a", "boom", time.Second, false},
		{"a", "other", 0, true},
		{"b", "boom", 0, true},
		{"a", "boom", ReportInterval, true},
		{"a", "boom", time.Second, false},
	}
	for i, s := range steps {
		clk.Step(s.advance)
		if got := m.ShouldReport(s.uid, s.msg); got != s.want {
			t.Errorf("step %d: ShouldReport(%s, %s) = %v, want %v", i, s.uid, s.msg, got, s.want)
		}
	}
	if err := m.TearDown("a"); err != nil {
		t.Fatal(err)
	}
	if !m.ShouldReport("a", "boom") {
		t.Error("a torn down pod's failures are still remembered")
	}
}

func TestMemoryVolumeSize(t *testing.T) {
	t.Parallel()
	m, _, _ := newTestManager(t, &fakeObjects{}) // 8Gi allocatable
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	limits := func(mem string) corev1.ResourceRequirements {
		if mem == "" {
			return corev1.ResourceRequirements{}
		}
		return corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(mem)}}
	}
	for _, tc := range []struct {
		name      string
		app, init []string
		sizeLimit *resource.Quantity
		want      int64
	}{
		{"node allocatable", []string{""}, nil, nil, 8 << 30},
		{"pod limit", []string{"64Mi", "32Mi"}, nil, nil, 96 << 20},
		{"one container without limit", []string{"64Mi", ""}, nil, nil, 8 << 30},
		{"init container larger", []string{"64Mi"}, []string{"128Mi"}, nil, 128 << 20},
		{"sizeLimit smaller", []string{"64Mi"}, nil, q("16Mi"), 16 << 20},
		{"sizeLimit larger than the pod's", []string{"64Mi"}, nil, q("1Gi"), 64 << 20},
	} {
		pod := &corev1.Pod{}
		for _, l := range tc.app {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Resources: limits(l)})
		}
		for _, l := range tc.init {
			pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Resources: limits(l)})
		}
		if got := m.memoryVolumeSize(pod, tc.sizeLimit); got != tc.want {
			t.Errorf("%s: size = %d, want %d", tc.name, got, tc.want)
		}
	}
}
