package persistentvolume

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t      *testing.T
	client *fake.Clientset
	ctl    *Controller
	rec    *record.FakeRecorder
}

// newFixture builds a controller over a fake clientset holding objs, with
// the informer caches preloaded.
func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	rec := record.NewFakeRecorder(100)
	ctl, err := New(Config{
		Client: client, Volumes: f.Core().V1().PersistentVolumes(), Claims: f.Core().V1().PersistentVolumeClaims(),
		Classes: f.Storage().V1().StorageClasses(), Nodes: f.Core().V1().Nodes(), Pods: f.Core().V1().Pods(),
		Recorder: rec, Clock: clocktesting.NewFakePassiveClock(t0),
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
		case *corev1.Pod:
			err = f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{t: t, client: client, ctl: ctl, rec: rec}
}

func (f *fixture) syncClaim(name string) {
	f.t.Helper()
	if err := f.ctl.syncClaim(context.Background(), "ns/"+name); err != nil {
		f.t.Fatalf("sync claim: %v", err)
	}
}

func (f *fixture) syncVolume(name string) {
	f.t.Helper()
	if err := f.ctl.syncVolume(context.Background(), name); err != nil {
		f.t.Fatalf("sync volume: %v", err)
	}
}

func (f *fixture) volume(name string) *corev1.PersistentVolume {
	f.t.Helper()
	v, err := f.client.CoreV1().PersistentVolumes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *fixture) claim(name string) *corev1.PersistentVolumeClaim {
	f.t.Helper()
	c, err := f.client.CoreV1().PersistentVolumeClaims("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// events drains the recorded events ("Type Reason message").
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

func class(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
}

func TestBindStatic(t *testing.T) {
	f := newFixture(t, pvc("data", "2Gi").obj(), pv("small", "1Gi").obj(), pv("big", "10Gi").obj(), pv("fit", "5Gi").obj())
	f.syncClaim("data")

	v := f.volume("fit")
	if v.Spec.ClaimRef == nil || v.Spec.ClaimRef.Name != "data" || v.Spec.ClaimRef.UID != "data-uid" || v.Spec.ClaimRef.Kind != "PersistentVolumeClaim" {
		t.Errorf("claimRef = %+v", v.Spec.ClaimRef)
	}
	if v.Annotations[AnnBoundByController] != "yes" || v.Status.Phase != corev1.VolumeBound {
		t.Errorf("volume annotations %v phase %s", v.Annotations, v.Status.Phase)
	}
	if v.Status.LastPhaseTransitionTime == nil || !v.Status.LastPhaseTransitionTime.Time.Equal(t0) {
		t.Errorf("lastPhaseTransitionTime = %v", v.Status.LastPhaseTransitionTime)
	}
	c := f.claim("data")
	if c.Spec.VolumeName != "fit" || c.Annotations[AnnBindCompleted] != "yes" || c.Annotations[AnnBoundByController] != "yes" {
		t.Errorf("claim volumeName %q annotations %v", c.Spec.VolumeName, c.Annotations)
	}
	wantStatus := corev1.PersistentVolumeClaimStatus{
		Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Capacity: corev1.ResourceList{corev1.ResourceStorage: v.Spec.Capacity[corev1.ResourceStorage]},
	}
	if diff := cmp.Diff(wantStatus, c.Status); diff != "" {
		t.Errorf("claim status (-want +got):\n%s", diff)
	}
	for _, name := range []string{"small", "big"} {
		if f.volume(name).Spec.ClaimRef != nil {
			t.Errorf("volume %s bound too", name)
		}
	}
}

func TestBindIsIdempotent(t *testing.T) {
	// A claim whose binding completed syncs without writes.
	v := pv("fit", "5Gi").claimRef("ns", "data", "data-uid").ann(AnnBoundByController, "yes").phase(corev1.VolumeBound).obj()
	c := pvc("data", "2Gi").volume("fit").ann(AnnBindCompleted, "yes").ann(AnnBoundByController, "yes").obj()
	c.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: v.Spec.AccessModes, Capacity: v.Spec.Capacity}
	f := newFixture(t, v, c)
	f.client.ClearActions()
	f.syncClaim("data")
	f.syncVolume("fit")
	for _, a := range f.client.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" {
			t.Errorf("unexpected action %v", a)
		}
	}
}

func TestUnboundClaimEvents(t *testing.T) {
	wffc := class("local", "skiff.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer)
	unscheduled := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "ns"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
	}
	for _, tc := range []struct {
		name     string
		objs     []runtime.Object
		want     []string
		wantProv string
	}{
		{name: "no class, no volume", objs: []runtime.Object{pvc("data", "1Gi").obj()},
			want: []string{"Normal FailedBinding no persistent volumes available for this claim and no storage class is set"}},
		{name: "wait for first consumer", objs: []runtime.Object{pvc("data", "1Gi").class("local").obj(), wffc, pv("a", "1Gi").class("local").obj()},
			want: []string{"Normal WaitForFirstConsumer waiting for first consumer to be created before binding"}},
		{name: "wait for pod", objs: []runtime.Object{pvc("data", "1Gi").class("local").obj(), wffc, unscheduled},
			want: []string{"Normal WaitForPodScheduled waiting for pod web-0 to be scheduled"}},
		{name: "selected node: provision", objs: []runtime.Object{pvc("data", "1Gi").class("local").ann(AnnSelectedNode, "n1").obj(), wffc},
			want:     []string{"Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'skiff.io/local-path' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."},
			wantProv: "skiff.io/local-path"},
		{name: "immediate class provisions", objs: []runtime.Object{pvc("data", "1Gi").class("ext").obj(), class("ext", "example.com/x", storagev1.VolumeBindingImmediate)},
			want:     []string{"Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'example.com/x' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."},
			wantProv: "example.com/x"},
		{name: "missing class", objs: []runtime.Object{pvc("data", "1Gi").class("gone").obj()},
			want: []string{`Warning ProvisioningFailed storageclass.storage.k8s.io "gone" not found`}},
		{name: "no-provisioner", objs: []runtime.Object{pvc("data", "1Gi").class("manual").obj(), class("manual", "kubernetes.io/no-provisioner", storagev1.VolumeBindingImmediate)},
			want: []string{"Warning ProvisioningFailed no volume plugin matched name: kubernetes.io/no-provisioner"}},
		{name: "requested volume too small", objs: []runtime.Object{pvc("data", "2Gi").volume("a").obj(), pv("a", "1Gi").obj()},
			want: []string{`Warning VolumeMismatch Cannot bind to requested volume "a": requested PV is too small`}},
		{name: "requested volume taken", objs: []runtime.Object{pvc("data", "1Gi").volume("a").obj(), pv("a", "1Gi").claimRef("ns", "other", "o").obj()},
			want: []string{`Warning FailedBinding volume "a" already bound to a different claim.`}},
		{name: "requested volume missing", objs: []runtime.Object{pvc("data", "1Gi").volume("a").obj()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.objs...)
			f.syncClaim("data")
			if diff := cmp.Diff(tc.want, f.events()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			c := f.claim("data")
			if c.Status.Phase != corev1.ClaimPending || c.Spec.VolumeName != tc.objs[0].(*corev1.PersistentVolumeClaim).Spec.VolumeName {
				t.Errorf("claim phase %s volumeName %q", c.Status.Phase, c.Spec.VolumeName)
			}
			if c.Annotations[AnnStorageProvisioner] != tc.wantProv || c.Annotations[AnnBetaStorageProvisioner] != tc.wantProv {
				t.Errorf("provisioner annotations = %v, want %q", c.Annotations, tc.wantProv)
			}
		})
	}
}

func TestSelectedNodeBindsStaticVolumeOnThatNode(t *testing.T) {
	wffc := class("local", "kubernetes.io/no-provisioner", storagev1.VolumeBindingWaitForFirstConsumer)
	n1 := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{labelHostname: "host-1"}}}
	f := newFixture(t, wffc, n1, pvc("data", "1Gi").class("local").ann(AnnSelectedNode, "n1").obj(),
		pv("other", "1Gi").class("local").onHost("host-2").obj(), pv("here", "1Gi").class("local").onHost("host-1").obj())
	f.syncClaim("data")
	if got := f.claim("data").Spec.VolumeName; got != "here" {
		t.Errorf("bound to %q, want here", got)
	}
}

func TestBindProvisionedVolume(t *testing.T) {
	// The provisioner created a volume pre-bound to the claim (UID set):
	// the volume's sync hands over to the claim, whose sync binds.
	wffc := class("local", "skiff.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer)
	v := pv("pvc-data-uid", "1Gi").class("local").reclaim(corev1.PersistentVolumeReclaimDelete).
		ann(AnnDynamicallyProvisioned, "skiff.io/local-path").claimRef("ns", "data", "data-uid").phase(corev1.VolumePending).obj()
	c := pvc("data", "1Gi").class("local").ann(AnnSelectedNode, "n1").ann(AnnStorageProvisioner, "skiff.io/local-path").obj()
	f := newFixture(t, wffc, v, c)
	f.syncVolume(v.Name)
	if f.ctl.claimRunner.Len() != 1 {
		t.Errorf("claim not enqueued by the volume's sync")
	}
	f.syncClaim("data")
	got := f.volume(v.Name)
	if got.Status.Phase != corev1.VolumeBound || got.Annotations[AnnBoundByController] != "" {
		t.Errorf("volume phase %s annotations %v (a provisioner's pre-binding is not ours)", got.Status.Phase, got.Annotations)
	}
	if cl := f.claim("data"); cl.Status.Phase != corev1.ClaimBound || cl.Spec.VolumeName != v.Name {
		t.Errorf("claim phase %s volume %q", cl.Status.Phase, cl.Spec.VolumeName)
	}
}

func TestBoundClaimLost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		objs  []runtime.Object
		event string
	}{
		{"volume deleted", []runtime.Object{pvc("data", "1Gi").volume("a").ann(AnnBindCompleted, "yes").phase(corev1.ClaimBound).obj()},
			"Warning ClaimLost Bound claim has lost its PersistentVolume. Data on the volume is lost!"},
		{"volumeName cleared", []runtime.Object{pvc("data", "1Gi").ann(AnnBindCompleted, "yes").phase(corev1.ClaimBound).obj()},
			"Warning ClaimLost Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"},
		{"misbound", []runtime.Object{pvc("data", "1Gi").volume("a").ann(AnnBindCompleted, "yes").phase(corev1.ClaimBound).obj(),
			pv("a", "1Gi").claimRef("ns", "other", "o").phase(corev1.VolumeBound).obj()},
			"Warning ClaimMisbound Two claims are bound to the same volume, this one is bound incorrectly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.objs...)
			f.syncClaim("data")
			if got := f.claim("data").Status.Phase; got != corev1.ClaimLost {
				t.Errorf("phase = %s, want Lost", got)
			}
			if diff := cmp.Diff([]string{tc.event}, f.events()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSyncVolume(t *testing.T) {
	bound := func(b volumeBuilder) volumeBuilder {
		return b.claimRef("ns", "data", "data-uid").ann(AnnBoundByController, "yes").phase(corev1.VolumeBound)
	}
	boundClaim := pvc("data", "1Gi").volume("a").ann(AnnBindCompleted, "yes").phase(corev1.ClaimBound).obj()
	for _, tc := range []struct {
		name      string
		objs      []runtime.Object
		wantPhase corev1.PersistentVolumePhase
		wantRef   bool
		events    []string
	}{
		{name: "new volume is Available", objs: []runtime.Object{pv("a", "1Gi").phase(corev1.VolumePending).obj()}, wantPhase: corev1.VolumeAvailable},
		{name: "user pre-bound is Available", objs: []runtime.Object{pv("a", "1Gi").phase(corev1.VolumePending).claimRef("ns", "data", "").obj()},
			wantPhase: corev1.VolumeAvailable, wantRef: true},
		{name: "bound stays Bound", objs: []runtime.Object{bound(pv("a", "1Gi")).obj(), boundClaim}, wantPhase: corev1.VolumeBound, wantRef: true},
		{name: "Retain: Released", objs: []runtime.Object{bound(pv("a", "1Gi")).obj()}, wantPhase: corev1.VolumeReleased, wantRef: true},
		{name: "claim recreated: Released", objs: []runtime.Object{bound(pv("a", "1Gi")).claimRef("ns", "data", "old-uid").obj(), boundClaim},
			wantPhase: corev1.VolumeReleased, wantRef: true},
		{name: "Delete without a deleter: Failed", objs: []runtime.Object{bound(pv("a", "1Gi")).reclaim(corev1.PersistentVolumeReclaimDelete).obj()},
			wantPhase: corev1.VolumeFailed, wantRef: true,
			events: []string{`Warning VolumeFailedDelete error getting deleter volume plugin for volume "a": no deletable volume plugin matched`}},
		{name: "Recycle: Failed", objs: []runtime.Object{bound(pv("a", "1Gi")).reclaim(corev1.PersistentVolumeReclaimRecycle).obj()},
			wantPhase: corev1.VolumeFailed, wantRef: true, events: []string{"Warning VolumeFailedRecycle No recycler plugin found for the volume!"}},
		{name: "Delete by external provisioner: Released, left to it",
			objs:      []runtime.Object{bound(pv("a", "1Gi")).reclaim(corev1.PersistentVolumeReclaimDelete).ann(AnnDynamicallyProvisioned, "skiff.io/local-path").obj()},
			wantPhase: corev1.VolumeReleased, wantRef: true},
		{name: "claim bound elsewhere: unbound", objs: []runtime.Object{bound(pv("a", "1Gi")).obj(),
			pvc("data", "1Gi").volume("b").ann(AnnBindCompleted, "yes").phase(corev1.ClaimBound).obj()},
			wantPhase: corev1.VolumeAvailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.objs...)
			f.syncVolume("a")
			v := f.volume("a")
			if v.Status.Phase != tc.wantPhase || (v.Spec.ClaimRef != nil) != tc.wantRef {
				t.Errorf("phase %s claimRef %v, want %s claimRef %v", v.Status.Phase, v.Spec.ClaimRef, tc.wantPhase, tc.wantRef)
			}
			if diff := cmp.Diff(tc.events, f.events()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReleasedClaimRaceChecksServer(t *testing.T) {
	// The claim is on the server but not yet in the cache: not released.
	v := pv("a", "1Gi").claimRef("ns", "data", "data-uid").phase(corev1.VolumeBound).obj()
	f := newFixture(t, v)
	if _, err := f.client.CoreV1().PersistentVolumeClaims("ns").Create(context.Background(),
		pvc("data", "1Gi").volume("a").ann(AnnBindCompleted, "yes").obj(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.syncVolume("a")
	if got := f.volume("a").Status.Phase; got != corev1.VolumeBound {
		t.Errorf("phase = %s, want Bound", got)
	}
}

func TestHandlersEnqueue(t *testing.T) {
	f := newFixture(t, pvc("a", "1Gi").obj(), pvc("b", "1Gi").class("fast").obj(),
		pvc("done", "1Gi").volume("x").ann(AnnBindCompleted, "yes").obj())
	f.ctl.addVolume(pv("free", "1Gi").obj())
	if n := f.ctl.claimRunner.Len(); n != 1 {
		t.Errorf("a free classless volume enqueued %d claims, want 1", n)
	}
	f.ctl.deleteClaim(pvc("done", "1Gi").volume("x").obj())
	if n := f.ctl.volumeRunner.Len(); n != 2 {
		t.Errorf("volume queue has %d keys, want 2 (free, x)", n)
	}
	f.ctl.addClass(class("fast", "p", storagev1.VolumeBindingImmediate))
	if n := f.ctl.claimRunner.Len(); n != 2 {
		t.Errorf("claim queue has %d keys, want 2", n)
	}
}
