package volumebinding

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

// fakeVolumes is an in-memory framework.Volumes that records bindings.
type fakeVolumes struct {
	claims  map[string]*v1.PersistentVolumeClaim
	pvs     []*v1.PersistentVolume
	classes map[string]*storagev1.StorageClass
	bound   []framework.VolumeBindings
}

func (f *fakeVolumes) PersistentVolumeClaim(ns, name string) (*v1.PersistentVolumeClaim, error) {
	return f.claims[ns+"/"+name], nil
}

func (f *fakeVolumes) PersistentVolume(name string) (*v1.PersistentVolume, error) {
	for _, pv := range f.pvs {
		if pv.Name == name {
			return pv, nil
		}
	}
	return nil, nil
}

func (f *fakeVolumes) PersistentVolumes() ([]*v1.PersistentVolume, error) { return f.pvs, nil }

func (f *fakeVolumes) StorageClass(name string) (*storagev1.StorageClass, error) {
	return f.classes[name], nil
}

func (f *fakeVolumes) BindVolumes(_ context.Context, _ *v1.Pod, _ string, b framework.VolumeBindings, _ []*v1.PersistentVolumeClaim) error {
	f.bound = append(f.bound, b)
	return nil
}

type handle struct {
	framework.Handle
	v framework.Volumes
}

func (h handle) Volumes() framework.Volumes { return h.v }

func class(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
}

func claim(name, class, size, volume string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-claim-" + name)}}
	c.Spec.StorageClassName = &class
	c.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	c.Spec.Resources.Requests = v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}
	c.Spec.VolumeName = volume
	if volume != "" {
		c.Status.Phase = v1.ClaimBound
	}
	return c
}

func localPV(name, class, size, host string, claimRef *v1.PersistentVolumeClaim) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}}
	pv.Spec.StorageClassName = class
	pv.Spec.Capacity = v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}
	pv.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	pv.Status.Phase = v1.VolumeAvailable
	if host != "" {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{host}}},
		}}}}
	}
	if claimRef != nil {
		pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: claimRef.Namespace, Name: claimRef.Name, UID: claimRef.UID}
		pv.Status.Phase = v1.VolumeBound
	}
	return pv
}

func podWithClaims(names ...string) *v1.Pod {
	p := frameworktest.Pod("p", "", nil, "", "")
	for _, n := range names {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: n, VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: n}}})
	}
	return p
}

func TestFilter(t *testing.T) {
	nodes := []*v1.Node{frameworktest.Node("a", nil, "", ""), frameworktest.Node("b", nil, "", "")}
	wffc := class("local", noProvisioner, storagev1.VolumeBindingWaitForFirstConsumer)
	dynamic := class("local-path", "skiff.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer)
	zoned := class("zoned", "skiff.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer)
	zoned.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: v1.LabelHostname, Values: []string{"b"}}}}}
	immediate := class("fast", "x.io/fast", storagev1.VolumeBindingImmediate)
	boundClaim := claim("bound", "local", "1Gi", "pv-bound")
	classes := map[string]*storagev1.StorageClass{"local": wffc, "local-path": dynamic, "fast": immediate, "zoned": zoned}

	tests := []struct {
		name   string
		claims []*v1.PersistentVolumeClaim
		pvs    []*v1.PersistentVolume
		pod    *v1.Pod
		want   map[string]string
	}{
		{name: "no claims", pod: podWithClaims(), want: map[string]string{"a": "", "b": ""}},
		{name: "missing claim", pod: podWithClaims("gone"),
			want: map[string]string{"a": `persistentvolumeclaim "gone" not found`, "b": `persistentvolumeclaim "gone" not found`}},
		{name: "unbound immediate claim", claims: []*v1.PersistentVolumeClaim{claim("data", "fast", "1Gi", "")}, pod: podWithClaims("data"),
			want: map[string]string{"a": ErrUnboundImmediate, "b": ErrUnboundImmediate}},
		{name: "bound claim follows its volume's node affinity",
			claims: []*v1.PersistentVolumeClaim{boundClaim}, pvs: []*v1.PersistentVolume{localPV("pv-bound", "local", "1Gi", "b", boundClaim)},
			pod: podWithClaims("bound"), want: map[string]string{"a": ErrReasonNodeConflict, "b": ""}},
		{name: "bound to a missing volume", claims: []*v1.PersistentVolumeClaim{boundClaim}, pod: podWithClaims("bound"),
			want: map[string]string{"a": ErrReasonPVNotExist, "b": ErrReasonPVNotExist}},
		{name: "wait for first consumer: the local volume's node",
			claims: []*v1.PersistentVolumeClaim{claim("data", "local", "1Gi", "")},
			pvs:    []*v1.PersistentVolume{localPV("pv-a", "local", "10Gi", "a", nil)},
			pod:    podWithClaims("data"), want: map[string]string{"a": "", "b": ErrReasonBindConflict}},
		{name: "volume too small, wrong class or taken",
			claims: []*v1.PersistentVolumeClaim{claim("data", "local", "5Gi", "")},
			pvs: []*v1.PersistentVolume{localPV("small", "local", "1Gi", "a", nil), localPV("other", "local-path", "10Gi", "a", nil),
				localPV("taken", "local", "10Gi", "b", claim("x", "local", "1Gi", ""))},
			pod: podWithClaims("data"), want: map[string]string{"a": ErrReasonBindConflict, "b": ErrReasonBindConflict}},
		{name: "two claims need two volumes",
			claims: []*v1.PersistentVolumeClaim{claim("d1", "local", "1Gi", ""), claim("d2", "local", "1Gi", "")},
			pvs:    []*v1.PersistentVolume{localPV("pv-a", "local", "1Gi", "a", nil), localPV("pv-b1", "local", "1Gi", "b", nil), localPV("pv-b2", "local", "1Gi", "b", nil)},
			pod:    podWithClaims("d1", "d2"), want: map[string]string{"a": ErrReasonBindConflict, "b": ""}},
		{name: "provisioner serves every node", claims: []*v1.PersistentVolumeClaim{claim("data", "local-path", "1Gi", "")},
			pod: podWithClaims("data"), want: map[string]string{"a": "", "b": ""}},
		{name: "provisioner limited by allowedTopologies", claims: []*v1.PersistentVolumeClaim{claim("data", "zoned", "1Gi", "")},
			pod: podWithClaims("data"), want: map[string]string{"a": ErrReasonBindConflict, "b": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fv := &fakeVolumes{claims: map[string]*v1.PersistentVolumeClaim{}, pvs: tc.pvs, classes: classes}
			for _, c := range tc.claims {
				fv.claims["default/"+c.Name] = c
			}
			factory := func(args []byte, h framework.Handle) (framework.Plugin, error) {
				return New(args, handle{v: fv})
			}
			h, err := frameworktest.New(Name, factory, "", nodes, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := h.Filter(tc.pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestReservePreBind checks the decision for the chosen node reaches the
// binder, and that an assumed volume is not offered to another claim.
func TestReservePreBind(t *testing.T) {
	ctx := context.Background()
	node := frameworktest.Node("a", nil, "", "")
	ni := framework.NewNodeInfo()
	ni.SetNode(node)
	fv := &fakeVolumes{
		claims: map[string]*v1.PersistentVolumeClaim{
			"default/d1": claim("d1", "local", "1Gi", ""), "default/d2": claim("d2", "local", "1Gi", ""),
			"default/dyn": claim("dyn", "local-path", "1Gi", ""),
		},
		pvs: []*v1.PersistentVolume{localPV("pv-a", "local", "1Gi", "a", nil)},
		classes: map[string]*storagev1.StorageClass{
			"local":      class("local", noProvisioner, storagev1.VolumeBindingWaitForFirstConsumer),
			"local-path": class("local-path", "skiff.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer),
		},
	}
	pl, err := New(nil, handle{v: fv})
	if err != nil {
		t.Fatal(err)
	}
	p := pl.(*Plugin)
	run := func(pod *v1.Pod) (*framework.CycleState, *framework.Status) {
		cs := framework.NewCycleState()
		if _, st := p.PreFilter(ctx, cs, pod, nil); !st.IsSuccess() {
			return cs, st
		}
		return cs, p.Filter(ctx, cs, pod, ni)
	}
	cs1, st := run(podWithClaims("d1", "dyn"))
	if !st.IsSuccess() {
		t.Fatalf("first pod: %v", st)
	}
	if st := p.Reserve(ctx, cs1, nil, "a"); !st.IsSuccess() {
		t.Fatalf("reserve: %v", st)
	}
	// While the first pod binds, pv-a is not free for another claim.
	if _, st := run(podWithClaims("d2")); st.Message() != ErrReasonBindConflict {
		t.Errorf("second pod while pv-a is assumed: %v", st)
	}
	p.Unreserve(ctx, cs1, nil, "a")
	if _, st := run(podWithClaims("d2")); !st.IsSuccess() {
		t.Errorf("second pod after unreserve: %v", st)
	}
	if st := p.Reserve(ctx, cs1, nil, "a"); !st.IsSuccess() {
		t.Fatalf("reserve again: %v", st)
	}
	if st := p.PreBind(ctx, cs1, podWithClaims("d1", "dyn"), "a"); !st.IsSuccess() {
		t.Fatalf("prebind: %v", st)
	}
	if len(fv.bound) != 1 {
		t.Fatalf("bindings = %+v", fv.bound)
	}
	b := fv.bound[0]
	if diff := cmp.Diff(map[string]string{"default/d1": "pv-a"}, b.Static); diff != "" {
		t.Errorf("static (-want +got):\n%s", diff)
	}
	if len(b.Provision) != 1 || b.Provision[0].Name != "dyn" {
		t.Errorf("provision = %v", b.Provision)
	}
	if len(p.assumed) != 0 {
		t.Errorf("assumed after PreBind = %v", p.assumed)
	}
}
