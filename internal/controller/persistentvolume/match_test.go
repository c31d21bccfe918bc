package persistentvolume

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// volumeBuilder builds test volumes: Available, RWO, Filesystem.
type volumeBuilder struct{ v *corev1.PersistentVolume }

func pv(name, size string) volumeBuilder {
	return volumeBuilder{&corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name + "-uid"), ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/" + name}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}}
}

func (b volumeBuilder) class(c string) volumeBuilder { b.v.Spec.StorageClassName = c; return b }
func (b volumeBuilder) modes(m ...corev1.PersistentVolumeAccessMode) volumeBuilder {
	b.v.Spec.AccessModes = m
	return b
}
func (b volumeBuilder) block() volumeBuilder {
	m := corev1.PersistentVolumeBlock
	b.v.Spec.VolumeMode = &m
	return b
}
func (b volumeBuilder) labels(l map[string]string) volumeBuilder { b.v.Labels = l; return b }
func (b volumeBuilder) phase(p corev1.PersistentVolumePhase) volumeBuilder {
	b.v.Status.Phase = p
	return b
}
func (b volumeBuilder) reclaim(p corev1.PersistentVolumeReclaimPolicy) volumeBuilder {
	b.v.Spec.PersistentVolumeReclaimPolicy = p
	return b
}
func (b volumeBuilder) ann(k, v string) volumeBuilder {
	metav1.SetMetaDataAnnotation(&b.v.ObjectMeta, k, v)
	return b
}
func (b volumeBuilder) claimRef(ns, name, uid string) volumeBuilder {
	b.v.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: name, UID: types.UID(uid)}
	return b
}
func (b volumeBuilder) onHost(host string) volumeBuilder {
	b.v.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: labelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{host}}},
	}}}}
	return b
}
func (b volumeBuilder) obj() *corev1.PersistentVolume { return b.v }

// claimBuilder builds test claims in namespace ns: RWO, Pending.
type claimBuilder struct{ c *corev1.PersistentVolumeClaim }

func pvc(name, size string) claimBuilder {
	return claimBuilder{&corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}}
}

func (b claimBuilder) class(c string) claimBuilder { b.c.Spec.StorageClassName = &c; return b }
func (b claimBuilder) modes(m ...corev1.PersistentVolumeAccessMode) claimBuilder {
	b.c.Spec.AccessModes = m
	return b
}
func (b claimBuilder) selector(l map[string]string) claimBuilder {
	b.c.Spec.Selector = &metav1.LabelSelector{MatchLabels: l}
	return b
}
func (b claimBuilder) volume(v string) claimBuilder { b.c.Spec.VolumeName = v; return b }
func (b claimBuilder) ann(k, v string) claimBuilder {
	metav1.SetMetaDataAnnotation(&b.c.ObjectMeta, k, v)
	return b
}
func (b claimBuilder) phase(p corev1.PersistentVolumeClaimPhase) claimBuilder {
	b.c.Status.Phase = p
	return b
}
func (b claimBuilder) obj() *corev1.PersistentVolumeClaim { return b.c }

func TestFindBestMatch(t *testing.T) {
	rwo, rox, rwx := corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{labelHostname: "n1"}}}
	for _, tc := range []struct {
		name    string
		claim   *corev1.PersistentVolumeClaim
		volumes []*corev1.PersistentVolume
		delay   bool
		node    *corev1.Node
		want    string
	}{
		{name: "smallest fitting", claim: pvc("c", "2Gi").obj(),
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").obj(), pv("b", "10Gi").obj(), pv("c", "5Gi").obj(), pv("d", "2Gi").obj()}, want: "d"},
		{name: "too small", claim: pvc("c", "2Gi").obj(), volumes: []*corev1.PersistentVolume{pv("a", "1Gi").obj()}},
		{name: "class must match", claim: pvc("c", "1Gi").class("fast").obj(),
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").obj(), pv("b", "5Gi").class("fast").obj(), pv("c", "2Gi").class("slow").obj()}, want: "b"},
		{name: "no class matches only classless", claim: pvc("c", "1Gi").obj(),
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").class("fast").obj()}},
		{name: "access modes are a subset", claim: pvc("c", "1Gi").modes(rwx).obj(),
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").obj(), pv("b", "9Gi").modes(rwo, rwx).obj()}, want: "b"},
		{name: "fewest modes before smallest", claim: pvc("c", "1Gi").obj(),
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").modes(rwo, rox, rwx).obj(), pv("b", "5Gi").obj()}, want: "b"},
		{name: "volume mode", claim: pvc("c", "1Gi").obj(), volumes: []*corev1.PersistentVolume{pv("a", "1Gi").block().obj()}},
		{name: "selector", claim: pvc("c", "1Gi").selector(map[string]string{"tier": "gold"}).obj(),
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").obj(), pv("b", "3Gi").labels(map[string]string{"tier": "gold"}).obj()}, want: "b"},
		{name: "not available", claim: pvc("c", "1Gi").obj(),
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").phase(corev1.VolumePending).obj(), pv("b", "1Gi").phase(corev1.VolumeReleased).obj()}},
		{name: "claimed by another", claim: pvc("c", "1Gi").obj(), volumes: []*corev1.PersistentVolume{pv("a", "1Gi").claimRef("ns", "other", "").obj()}},
		{name: "pre-bound wins over class and size order", claim: pvc("c", "1Gi").obj(),
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").obj(), pv("b", "5Gi").class("x").claimRef("ns", "c", "").phase(corev1.VolumeAvailable).obj()}, want: "b"},
		{name: "pre-bound to an older claim of that name", claim: pvc("c", "1Gi").obj(),
			volumes: []*corev1.PersistentVolume{pv("b", "5Gi").claimRef("ns", "c", "old-uid").obj()}},
		{name: "delayed binding waits", claim: pvc("c", "1Gi").obj(), delay: true, volumes: []*corev1.PersistentVolume{pv("a", "1Gi").obj()}},
		{name: "delayed binding still finds pre-bound", claim: pvc("c", "1Gi").obj(), delay: true,
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").claimRef("ns", "c", "c-uid").obj()}, want: "a"},
		{name: "selected node filters affinity", claim: pvc("c", "1Gi").obj(), node: node,
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").onHost("n2").obj(), pv("b", "2Gi").onHost("n1").obj()}, want: "b"},
		{name: "pre-bound on another node", claim: pvc("c", "1Gi").obj(), node: node,
			volumes: []*corev1.PersistentVolume{pv("a", "1Gi").onHost("n2").claimRef("ns", "c", "").obj(), pv("b", "2Gi").onHost("n1").obj()}},
		{name: "being deleted", claim: pvc("c", "1Gi").obj(), volumes: []*corev1.PersistentVolume{func() *corev1.PersistentVolume {
			v := pv("a", "1Gi").obj()
			v.DeletionTimestamp = &metav1.Time{}
			return v
		}()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findBestMatch(tc.claim, tc.volumes, tc.delay, tc.node)
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tc.want {
				t.Errorf("match = %q, want %q", name, tc.want)
			}
		})
	}
}

func TestCheckVolumeSatisfiesClaim(t *testing.T) {
	for _, tc := range []struct {
		name   string
		volume *corev1.PersistentVolume
		claim  *corev1.PersistentVolumeClaim
		want   string
	}{
		{"ok", pv("a", "1Gi").obj(), pvc("c", "1Gi").obj(), ""},
		{"small", pv("a", "1Gi").obj(), pvc("c", "2Gi").obj(), "requested PV is too small"},
		{"class", pv("a", "1Gi").class("x").obj(), pvc("c", "1Gi").obj(), "storageClassName does not match"},
		{"mode", pv("a", "1Gi").block().obj(), pvc("c", "1Gi").obj(), "incompatible volumeMode"},
		{"access", pv("a", "1Gi").obj(), pvc("c", "1Gi").modes(corev1.ReadWriteMany).obj(), "incompatible accessMode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := checkVolumeSatisfiesClaim(tc.volume, tc.claim); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNodeAffinityOperators(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a", "disks": "4"}}}
	req := func(op corev1.NodeSelectorOperator, key string, vals ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: vals}
	}
	for _, tc := range []struct {
		name string
		r    corev1.NodeSelectorRequirement
		want bool
	}{
		{"in", req(corev1.NodeSelectorOpIn, "zone", "a", "b"), true},
		{"not in", req(corev1.NodeSelectorOpNotIn, "zone", "a"), false},
		{"exists", req(corev1.NodeSelectorOpExists, "zone"), true},
		{"does not exist", req(corev1.NodeSelectorOpDoesNotExist, "gpu"), true},
		{"gt", req(corev1.NodeSelectorOpGt, "disks", "3"), true},
		{"lt", req(corev1.NodeSelectorOpLt, "disks", "3"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := pv("a", "1Gi").obj()
			v.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{tc.r}}}}}
			if got := nodeAffinityAdmits(v, node); got != tc.want {
				t.Errorf("admits = %v, want %v", got, tc.want)
			}
		})
	}
}
