//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

func hostPathPV(name, size string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + name}},
		},
	}
}

func newPVC(ns, name, size string, class *string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}
}

func waitClaimPhase(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, name string, phase corev1.PersistentVolumeClaimPhase) *corev1.PersistentVolumeClaim {
	t.Helper()
	var c *corev1.PersistentVolumeClaim
	eventually(t, wait, fmt.Sprintf("claim %s %s", name, phase), func() (bool, error) {
		var err error
		c, err = cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && c.Status.Phase == phase, err
	})
	return c
}

func waitVolumePhase(t *testing.T, ctx context.Context, cs kubernetes.Interface, name string, phase corev1.PersistentVolumePhase) *corev1.PersistentVolume {
	t.Helper()
	var v *corev1.PersistentVolume
	eventually(t, wait, fmt.Sprintf("volume %s %s", name, phase), func() (bool, error) {
		var err error
		v, err = cs.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && v.Status.Phase == phase, err
	})
	return v
}

func TestPersistentVolumeStaticBindingAndRetain(t *testing.T) {
	const ns = "pv-static"
	c := newWorkloadCluster(t, ns, 1, 0)
	ctx, cs := ctxT(t), c.cs
	for _, v := range []*corev1.PersistentVolume{hostPathPV("pv-static-small", "1Gi"), hostPathPV("pv-static-big", "5Gi")} {
		if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, v, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.CoreV1().PersistentVolumes().Delete(context.Background(), v.Name, metav1.DeleteOptions{})
		})
	}
	waitVolumePhase(t, ctx, cs, "pv-static-small", corev1.VolumeAvailable)
	noClass := ""
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, newPVC(ns, "data", "3Gi", &noClass), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claim := waitClaimPhase(t, ctx, cs, ns, "data", corev1.ClaimBound)
	if claim.Spec.VolumeName != "pv-static-big" || claim.Annotations["pv.kubernetes.io/bind-completed"] != "yes" ||
		claim.Annotations["pv.kubernetes.io/bound-by-controller"] != "yes" {
		t.Errorf("claim volume %q annotations %v", claim.Spec.VolumeName, claim.Annotations)
	}
	if q := claim.Status.Capacity[corev1.ResourceStorage]; q.String() != "5Gi" {
		t.Errorf("claim capacity = %s, want 5Gi", q.String())
	}
	big := waitVolumePhase(t, ctx, cs, "pv-static-big", corev1.VolumeBound)
	if r := big.Spec.ClaimRef; r == nil || r.Namespace != ns || r.Name != "data" || r.UID != claim.UID {
		t.Errorf("claimRef = %+v", r)
	}

	// Too big for any free volume: Pending, and the small one stays free.
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, newPVC(ns, "huge", "10Gi", &noClass), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "FailedBinding on huge", func() (bool, error) {
		return hasEvent(ctx, cs, ns, "huge", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	})
	if v, err := cs.CoreV1().PersistentVolumes().Get(ctx, "pv-static-small", metav1.GetOptions{}); err != nil || v.Spec.ClaimRef != nil || v.Status.Phase != corev1.VolumeAvailable {
		t.Errorf("small volume: %v %+v", err, v)
	}

	// The columns of kubectl get pv,pvc, as upstream prints them.
	out, _ := kubectl(t, c.srv, false, "get", "pv,pvc", "-n", ns)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	fields := func(prefix string) []string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return strings.Fields(l)
			}
		}
		t.Errorf("no line %q in:\n%s", prefix, out)
		return nil
	}
	checkFields := func(got []string, want ...string) {
		t.Helper()
		if len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
			t.Errorf("line %q, want it to start with %q\n%s", got, want, out)
		}
	}
	checkFields(fields("NAME "), "NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE")
	checkFields(fields("persistentvolume/pv-static-big"), "persistentvolume/pv-static-big", "5Gi", "RWO", "Retain", "Bound", ns+"/data", "<unset>")
	checkFields(fields("persistentvolume/pv-static-small"), "persistentvolume/pv-static-small", "1Gi", "RWO", "Retain", "Available", "<unset>")
	var pvcHeader []string
	for _, l := range lines {
		if strings.HasPrefix(l, "NAME ") && strings.Contains(l, "VOLUME ") {
			pvcHeader = strings.Fields(l)
		}
	}
	checkFields(pvcHeader, "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE")
	checkFields(fields("persistentvolumeclaim/data"), "persistentvolumeclaim/data", "Bound", "pv-static-big", "5Gi", "RWO", "<unset>")
	checkFields(fields("persistentvolumeclaim/huge"), "persistentvolumeclaim/huge", "Pending", "<unset>")

	// Retain: the claim goes, the volume is Released and keeps its claimRef.
	if err := cs.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	released := waitVolumePhase(t, ctx, cs, "pv-static-big", corev1.VolumeReleased)
	if r := released.Spec.ClaimRef; r == nil || r.UID != claim.UID {
		t.Errorf("released volume's claimRef = %+v", r)
	}
	out, _ = kubectl(t, c.srv, false, "get", "pv", "pv-static-big", "--no-headers")
	if f := strings.Fields(out); len(f) < 6 || f[4] != "Released" || f[5] != ns+"/data" {
		t.Errorf("kubectl get pv: %q", out)
	}
}

func TestPersistentVolumeLocalPathProvisioning(t *testing.T) {
	const ns = "pv-local"
	c := newWorkloadCluster(t, ns, 1, 0)
	ctx, cs := ctxT(t), c.cs
	node := c.sim.Nodes()[0]

	var class *storagev1.StorageClass
	eventually(t, wait, "default StorageClass local-path", func() (bool, error) {
		var err error
		class, err = cs.StorageV1().StorageClasses().Get(ctx, "local-path", metav1.GetOptions{})
		return err == nil, err
	})
	if class.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" || class.Provisioner != "skiff.io/local-path" ||
		*class.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer || *class.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("class = %+v", class)
	}

	localPath := "local-path"
	claim, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, newPVC(ns, "data", "2Gi", &localPath), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "WaitForFirstConsumer", func() (bool, error) {
		return hasEvent(ctx, cs, ns, "data", "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
	})

	// The scheduler's VolumeBinding plugin is not there yet: annotate the
	// claim as it would once it picks a node for the claim's first pod.
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"volume.kubernetes.io/selected-node":%q}}}`, node)
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Patch(ctx, "data", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	bound := waitClaimPhase(t, ctx, cs, ns, "data", corev1.ClaimBound)
	pvName := "pvc-" + string(claim.UID)
	if bound.Spec.VolumeName != pvName || bound.Annotations["volume.kubernetes.io/storage-provisioner"] != "skiff.io/local-path" ||
		bound.Annotations["volume.beta.kubernetes.io/storage-provisioner"] != "skiff.io/local-path" {
		t.Errorf("claim volume %q annotations %v", bound.Spec.VolumeName, bound.Annotations)
	}
	pv := waitVolumePhase(t, ctx, cs, pvName, corev1.VolumeBound)
	n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hostname := n.Labels["kubernetes.io/hostname"]
	terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 || terms[0].MatchExpressions[0].Key != "kubernetes.io/hostname" ||
		terms[0].MatchExpressions[0].Operator != corev1.NodeSelectorOpIn || strings.Join(terms[0].MatchExpressions[0].Values, ",") != hostname {
		t.Errorf("node affinity = %+v, want hostname %q", terms, hostname)
	}
	if pv.Spec.Local == nil || !strings.HasSuffix(pv.Spec.Local.Path, "/storage/"+ns+"_data_"+pvName) {
		t.Errorf("volume source = %+v", pv.Spec.PersistentVolumeSource)
	}
	if pv.Annotations["pv.kubernetes.io/provisioned-by"] != "skiff.io/local-path" || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		pv.Spec.StorageClassName != "local-path" {
		t.Errorf("volume = %+v", pv)
	}
	for _, e := range []struct{ reason, msg string }{
		{"ExternalProvisioning", "Waiting for a volume to be created either by the external provisioner 'skiff.io/local-path'"},
		{"ProvisioningSucceeded", "Successfully provisioned volume " + pvName},
	} {
		eventually(t, wait, e.reason, func() (bool, error) { return hasEvent(ctx, cs, ns, "data", e.reason, e.msg) })
	}
	out, _ := kubectl(t, c.srv, false, "get", "pvc", "data", "-n", ns, "--no-headers")
	if f := strings.Fields(out); len(f) < 6 || f[1] != "Bound" || f[2] != pvName || f[3] != "2Gi" || f[4] != "RWO" || f[5] != "local-path" {
		t.Errorf("kubectl get pvc: %q", out)
	}

	// Delete: once the claim goes, the provisioner deletes the volume.
	if err := cs.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "provisioned volume deleted", func() (bool, error) {
		_, err := cs.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}
