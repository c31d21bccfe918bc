package localpath

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
)

// fakeDirs records directory calls instead of touching the filesystem.
type fakeDirs struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (d *fakeDirs) Create(_ context.Context, node, path string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, "create "+node+" "+path)
	return d.err
}

func (d *fakeDirs) Remove(_ context.Context, node, path string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, "remove "+node+" "+path)
	return d.err
}

type fixture struct {
	t      *testing.T
	client *fake.Clientset
	ctl    *Controller
	rec    *record.FakeRecorder
	dirs   *fakeDirs
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	rec := record.NewFakeRecorder(100)
	dirs := &fakeDirs{}
	ctl, err := New(Config{
		Client: client, Claims: f.Core().V1().PersistentVolumeClaims(), Volumes: f.Core().V1().PersistentVolumes(),
		Classes: f.Storage().V1().StorageClasses(), Nodes: f.Core().V1().Nodes(), Recorder: rec, Dirs: dirs, BasePath: "/srv/vol",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.PersistentVolume:
			err = f.Core().V1().PersistentVolumes().Informer().GetIndexer().Add(o)
		case *corev1.PersistentVolumeClaim:
			err = f.Core().V1().PersistentVolumeClaims().Informer().GetIndexer().Add(o)
		case *storagev1.StorageClass:
			err = f.Storage().V1().StorageClasses().Informer().GetIndexer().Add(o)
		case *corev1.Node:
			err = f.Core().V1().Nodes().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{t: t, client: client, ctl: ctl, rec: rec, dirs: dirs}
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func claim(mutate ...func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
	cls := ClassName
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns", UID: "u1", ResourceVersion: "7", Annotations: map[string]string{
			annSelectedNode: "n1", annStorageProvisioner: ProvisionerName, annBetaStorageProvisioner: ProvisionerName,
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &cls,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	for _, m := range mutate {
		m(c)
	}
	return c
}

var node1 = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{labelHostname: "host-1"}}}

func TestProvision(t *testing.T) {
	f := newFixture(t, DefaultClass(), node1, claim())
	if err := f.ctl.syncClaim(context.Background(), "ns/data"); err != nil {
		t.Fatal(err)
	}
	pv, err := f.client.CoreV1().PersistentVolumes().Get(context.Background(), "pvc-u1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs := corev1.PersistentVolumeFilesystem
	want := corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
		StorageClassName:              ClassName,
		VolumeMode:                    &fs,
		PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/srv/vol/ns_data_pvc-u1"}},
		ClaimRef:                      &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: "ns", Name: "data", UID: "u1", ResourceVersion: "7"},
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: labelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{"host-1"}}},
		}}}},
	}
	if diff := cmp.Diff(want, pv.Spec); diff != "" {
		t.Errorf("volume spec (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{annProvisionedBy: ProvisionerName, AnnNode: "n1"}, pv.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"create n1 /srv/vol/ns_data_pvc-u1"}, f.dirs.calls); diff != "" {
		t.Errorf("directory calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		`Normal Provisioning External provisioner is provisioning volume for claim "ns/data"`,
		"Normal ProvisioningSucceeded Successfully provisioned volume pvc-u1",
	}, f.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestProvisionSkipsAndFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claim  *corev1.PersistentVolumeClaim
		objs   []runtime.Object
		dirErr error
		events []string
		err    bool
	}{
		{name: "no selected node yet", claim: claim(func(c *corev1.PersistentVolumeClaim) { delete(c.Annotations, annSelectedNode) })},
		{name: "not handed to us", claim: claim(func(c *corev1.PersistentVolumeClaim) {
			delete(c.Annotations, annStorageProvisioner)
			delete(c.Annotations, annBetaStorageProvisioner)
		})},
		{name: "already bound", claim: claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "x" })},
		{name: "other provisioner's class", claim: claim(), objs: []runtime.Object{&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: ClassName}, Provisioner: "other"}}},
		{name: "RWX unsupported", claim: claim(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}), events: []string{`Warning ProvisioningFailed failed to provision volume with StorageClass "local-path": local-path only supports ReadWriteOnce and ReadWriteOncePod access modes`}},
		{name: "selector unsupported", claim: claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.Selector = &metav1.LabelSelector{} }),
			events: []string{`Warning ProvisioningFailed failed to provision volume with StorageClass "local-path": claim Selector is not supported`}},
		{name: "unknown node", claim: claim(func(c *corev1.PersistentVolumeClaim) { c.Annotations[annSelectedNode] = "gone" }), err: true,
			events: []string{`Warning ProvisioningFailed failed to provision volume with StorageClass "local-path": failed to get target node: nodes "gone" not found`}},
		{name: "directory fails", claim: claim(), dirErr: errors.New("disk full"), err: true, events: []string{
			`Normal Provisioning External provisioner is provisioning volume for claim "ns/data"`,
			`Warning ProvisioningFailed failed to provision volume with StorageClass "local-path": disk full`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := append([]runtime.Object{node1, tc.claim}, tc.objs...)
			if len(tc.objs) == 0 {
				objs = append(objs, DefaultClass())
			}
			f := newFixture(t, objs...)
			f.dirs.err = tc.dirErr
			err := f.ctl.syncClaim(context.Background(), "ns/data")
			if (err != nil) != tc.err {
				t.Errorf("err = %v, want error %v", err, tc.err)
			}
			if _, err := f.client.CoreV1().PersistentVolumes().Get(context.Background(), "pvc-u1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("volume created (err %v)", err)
			}
			if diff := cmp.Diff(tc.events, f.events()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func volume(phase corev1.PersistentVolumePhase, policy corev1.PersistentVolumeReclaimPolicy, provisioner string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-u1", UID: types.UID("v1"), Annotations: map[string]string{annProvisionedBy: provisioner, AnnNode: "n1"}},
		Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: policy,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/srv/vol/ns_data_pvc-u1"}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: phase},
	}
}

func TestDelete(t *testing.T) {
	for _, tc := range []struct {
		name        string
		volume      *corev1.PersistentVolume
		wantDeleted bool
	}{
		{"released delete", volume(corev1.VolumeReleased, corev1.PersistentVolumeReclaimDelete, ProvisionerName), true},
		{"released retain", volume(corev1.VolumeReleased, corev1.PersistentVolumeReclaimRetain, ProvisionerName), false},
		{"bound", volume(corev1.VolumeBound, corev1.PersistentVolumeReclaimDelete, ProvisionerName), false},
		{"another provisioner's", volume(corev1.VolumeReleased, corev1.PersistentVolumeReclaimDelete, "other"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.volume)
			if err := f.ctl.syncVolume(context.Background(), "pvc-u1"); err != nil {
				t.Fatal(err)
			}
			_, err := f.client.CoreV1().PersistentVolumes().Get(context.Background(), "pvc-u1", metav1.GetOptions{})
			if deleted := apierrors.IsNotFound(err); deleted != tc.wantDeleted {
				t.Errorf("deleted = %v, want %v", deleted, tc.wantDeleted)
			}
			var want []string
			if tc.wantDeleted {
				want = []string{"remove n1 /srv/vol/ns_data_pvc-u1"}
			}
			if diff := cmp.Diff(want, f.dirs.calls); diff != "" {
				t.Errorf("directory calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeleteKeepsVolumeWhenDirectoryRemains(t *testing.T) {
	f := newFixture(t, volume(corev1.VolumeReleased, corev1.PersistentVolumeReclaimDelete, ProvisionerName))
	f.dirs.err = errors.New("busy")
	if err := f.ctl.syncVolume(context.Background(), "pvc-u1"); err == nil {
		t.Fatal("no error")
	}
	if _, err := f.client.CoreV1().PersistentVolumes().Get(context.Background(), "pvc-u1", metav1.GetOptions{}); err != nil {
		t.Errorf("volume gone: %v", err)
	}
	if diff := cmp.Diff([]string{"Warning VolumeFailedDelete busy"}, f.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestEnsureClass(t *testing.T) {
	f := newFixture(t)
	if err := f.ctl.ensureClass(context.Background()); err != nil {
		t.Fatal(err)
	}
	sc, err := f.client.StorageV1().StorageClasses().Get(context.Background(), ClassName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Annotations[annIsDefaultClass] != "true" || sc.Provisioner != ProvisionerName ||
		*sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer || *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("class = %+v", sc)
	}

	// An existing class of that name is the administrator's: kept as is.
	mine := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: ClassName}, Provisioner: "mine"}
	f = newFixture(t, mine)
	if err := f.ctl.ensureClass(context.Background()); err != nil {
		t.Fatal(err)
	}
	sc, err = f.client.StorageV1().StorageClasses().Get(context.Background(), ClassName, metav1.GetOptions{})
	if err != nil || sc.Provisioner != "mine" {
		t.Errorf("class replaced: %+v %v", sc, err)
	}
}

func TestNodeLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "storage", "ns_data_pvc-u1")
	ctx := context.Background()
	d := NodeLocal{Node: "here"}
	if err := d.Create(ctx, "elsewhere", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("another node's directory was made here: %v", err)
	}
	if err := d.Create(ctx, "here", dir); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o777 {
		t.Fatalf("stat = %v, %v", st, err)
	}
	if err := d.Remove(ctx, "elsewhere", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("removed for another node: %v", err)
	}
	if err := d.Remove(ctx, "here", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("not removed: %v", err)
	}
	if err := (NodeLocal{}).Create(ctx, "", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("zero NodeLocal made a directory")
	}
}
