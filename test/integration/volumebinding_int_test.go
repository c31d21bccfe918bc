//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/nodesim"
)

// waitSchedulingMessage waits until pod's PodScheduled=False condition
// says want: an earlier attempt may have seen older caches (a claim
// created just before the pod, for one).
func waitSchedulingMessage(t *testing.T, c kubernetes.Interface, name, want string) {
	t.Helper()
	eventually(t, wait, "pod "+name+" unschedulable with "+want, func() (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
				return cond.Message == want && p.Spec.NodeName == "", fmt.Errorf("message %q", cond.Message)
			}
		}
		return false, fmt.Errorf("conditions %v", p.Status.Conditions)
	})
}

func withClaim(claim string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
	}
}

// TestSchedulerLocalPVLandsOnItsNode: a pod whose claim (of a
// WaitForFirstConsumer class without provisioner) can only be served by
// a local volume pinned to one node goes to that node, and the claim is
// bound to that volume.
func TestSchedulerLocalPVLandsOnItsNode(t *testing.T) {
	_, c := schedStart(t, nodesim.Config{Count: 3})
	ctx := ctxT(t)
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) < 3 {
		t.Fatalf("nodes: %v (%v)", nodes, err)
	}
	target := nodes.Items[1]
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	if _, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "local-storage"}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &mode,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "local-pv"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: "local-storage",
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disks/vol1"}},
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn,
				Values: []string{target.Labels[corev1.LabelHostname]}}},
		}}}},
	}}
	if _, err := c.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	class := "local-storage"
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, newPVC("default", "local-data", "1Gi", &class), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createPods(t, c, schedPod("uses-local", withClaim("local-data")))
	eventually(t, wait, "pod bound", func() (bool, error) {
		return placement(t, c, "")["uses-local"] != "", nil
	})
	if got := placement(t, c, "")["uses-local"]; got != target.Name {
		t.Errorf("pod landed on %q, want the volume's node %q", got, target.Name)
	}
	claim := waitClaimPhase(t, ctx, c, "default", "local-data", corev1.ClaimBound)
	if claim.Spec.VolumeName != "local-pv" {
		t.Errorf("claim bound to %q, want local-pv", claim.Spec.VolumeName)
	}

	// A second claim finds no free volume on any node.
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, newPVC("default", "more-data", "1Gi", &class), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createPods(t, c, schedPod("wants-more", withClaim("more-data")))
	want := "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind. " +
		"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."
	waitSchedulingMessage(t, c, "wants-more", want)
	// A missing claim is reported by name.
	createPods(t, c, schedPod("no-claim", withClaim("missing")))
	want = `0/3 nodes are available: persistentvolumeclaim "missing" not found. ` +
		"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."
	waitSchedulingMessage(t, c, "no-claim", want)
	// A matching volume on another node appears: the waiting pod is
	// retried on the volume event and lands there.
	pv2 := pv.DeepCopy()
	pv2.Name = "local-pv-2"
	other := nodes.Items[2]
	pv2.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values = []string{other.Labels[corev1.LabelHostname]}
	if _, err := c.CoreV1().PersistentVolumes().Create(ctx, pv2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "wants-more bound after a volume appeared", func() (bool, error) {
		return placement(t, c, "")["wants-more"] == other.Name, nil
	})
}

// TestSchedulerLocalPathProvisioning: a claim of the built-in local-path
// class gets the scheduler's selected-node, is provisioned there, and the
// pod is bound to that node once the claim is bound.
func TestSchedulerLocalPathProvisioning(t *testing.T) {
	_, c := schedStart(t, nodesim.Config{Count: 3})
	ctx := ctxT(t)
	eventually(t, wait, "default StorageClass local-path", func() (bool, error) {
		_, err := c.StorageV1().StorageClasses().Get(ctx, "local-path", metav1.GetOptions{})
		return err == nil, err
	})
	class := "local-path"
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, newPVC("default", "dyn", "1Gi", &class), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createPods(t, c, schedPod("uses-dyn", withClaim("dyn")))
	eventually(t, wait, "pod bound", func() (bool, error) {
		return placement(t, c, "")["uses-dyn"] != "", nil
	})
	node := placement(t, c, "")["uses-dyn"]
	claim := waitClaimPhase(t, ctx, c, "default", "dyn", corev1.ClaimBound)
	if got := claim.Annotations["volume.kubernetes.io/selected-node"]; got != node {
		t.Errorf("selected-node = %q, pod is on %q", got, node)
	}
	pv, err := c.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	host := ""
	if a := pv.Spec.NodeAffinity; a != nil && a.Required != nil && len(a.Required.NodeSelectorTerms) == 1 &&
		len(a.Required.NodeSelectorTerms[0].MatchExpressions) == 1 {
		host = a.Required.NodeSelectorTerms[0].MatchExpressions[0].Values[0]
	}
	n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if host != n.Labels[corev1.LabelHostname] {
		t.Errorf("provisioned volume pinned to %q, pod's node %s has hostname %q", host, node, n.Labels[corev1.LabelHostname])
	}
}
