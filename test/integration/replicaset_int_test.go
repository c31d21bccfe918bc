//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func newReplicaSet(ns, name string, replicas int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1"}}},
			},
		},
	}
}

func controlledBy(p *corev1.Pod, uid types.UID) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.UID == uid && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion
}

func waitRSStatus(t *testing.T, ctx context.Context, c *workloadCluster, name string, n int32) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	eventually(t, wait, fmt.Sprintf("replicaset %s at %d ready", name, n), func() (bool, error) {
		var err error
		rs, err = c.cs.AppsV1().ReplicaSets(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := rs.Status
		return st.ObservedGeneration == rs.Generation && st.Replicas == n && st.ReadyReplicas == n && st.AvailableReplicas == n && st.FullyLabeledReplicas == n,
			fmt.Errorf("status %+v", st)
	})
	return rs
}

func TestReplicaSetAdoptReleaseAndEvents(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "rs", 2, 0)
	ctx := ctxT(t)
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: c.ns, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1"}}},
	}
	if _, err := c.cs.CoreV1().Pods(c.ns).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs, err := c.cs.AppsV1().ReplicaSets(c.ns).Create(ctx, newReplicaSet(c.ns, "web", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitRSStatus(t, ctx, c, "web", 3)
	pods, err := activePods(ctx, c.cs, c.ns, "app=web")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 3 {
		t.Fatalf("%d pods, want 3 (the orphan adopted, two created): %s", len(pods), describePods(pods))
	}
	adopted := false
	for i := range pods {
		if !controlledBy(&pods[i], rs.UID) {
			t.Errorf("pod %s not controlled by the ReplicaSet: %+v", pods[i].Name, pods[i].OwnerReferences)
		}
		adopted = adopted || pods[i].Name == "orphan"
		if pods[i].Name != "orphan" && !strings.HasPrefix(pods[i].Name, "web-") {
			t.Errorf("created pod name %s, want web-xxxxx", pods[i].Name)
		}
	}
	if !adopted {
		t.Error("the orphan pod was not adopted")
	}

	// Relabel a pod out of the selector: it is released and replaced.
	if _, err := c.cs.CoreV1().Pods(c.ns).Patch(ctx, "orphan", types.MergePatchType, []byte(`{"metadata":{"labels":{"app":"debug"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "released pod", func() (bool, error) {
		p, err := c.cs.CoreV1().Pods(c.ns).Get(ctx, "orphan", metav1.GetOptions{})
		return err == nil && metav1.GetControllerOf(p) == nil, fmt.Errorf("owners %v (err %v)", p.OwnerReferences, err)
	})
	waitRSStatus(t, ctx, c, "web", 3)

	out, _ := kubectl(t, c.srv, false, "-n", c.ns, "get", "events", "--field-selector", "involvedObject.name=web", "-o", "custom-columns=R:.reason,M:.message", "--no-headers")
	if !strings.Contains(out, "SuccessfulCreate") || !strings.Contains(out, "Created pod: web-") {
		t.Errorf("events:\n%s", out)
	}

	// Scale down prefers the pod that is not ready.
	pods, _ = activePods(ctx, c.cs, c.ns, "app=web")
	victim := pods[1].Name
	c.sim.SetReady(c.ns, victim, false)
	eventually(t, wait, "victim unready in status", func() (bool, error) {
		got, err := c.cs.AppsV1().ReplicaSets(c.ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && got.Status.ReadyReplicas == 2, fmt.Errorf("status %+v", got.Status)
	})
	kubectl(t, c.srv, false, "-n", c.ns, "scale", "rs/web", "--replicas=2")
	waitRSStatus(t, ctx, c, "web", 2)
	pods, _ = activePods(ctx, c.cs, c.ns, "app=web")
	for _, p := range pods {
		if p.Name == victim {
			t.Errorf("scale down kept the unready pod %s and deleted a ready one", victim)
		}
	}
	out, _ = kubectl(t, c.srv, false, "-n", c.ns, "get", "events", "--field-selector", "involvedObject.name=web,reason=SuccessfulDelete", "-o", "custom-columns=M:.message", "--no-headers")
	if !strings.Contains(out, "Deleted pod: "+victim) {
		t.Errorf("delete events:\n%s", out)
	}
}

func TestReplicationController(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "rc", 2, 0)
	ctx := ctxT(t)
	n := int32(2)
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: c.ns},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: &n,
			Selector: map[string]string{"app": "legacy"},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "legacy"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1"}}},
			},
		},
	}
	created, err := c.cs.CoreV1().ReplicationControllers(c.ns).Create(ctx, rc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "rc ready", func() (bool, error) {
		got, err := c.cs.CoreV1().ReplicationControllers(c.ns).Get(ctx, "legacy", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := got.Status
		return st.Replicas == 2 && st.ReadyReplicas == 2 && st.AvailableReplicas == 2 && st.FullyLabeledReplicas == 2 && st.ObservedGeneration == got.Generation,
			fmt.Errorf("status %+v", st)
	})
	pods, _ := activePods(ctx, c.cs, c.ns, "app=legacy")
	for i := range pods {
		ref := metav1.GetControllerOf(&pods[i])
		if !controlledBy(&pods[i], created.UID) || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" {
			t.Errorf("pod %s owners %+v", pods[i].Name, pods[i].OwnerReferences)
		}
	}
	kubectl(t, c.srv, false, "-n", c.ns, "scale", "rc/legacy", "--replicas=4")
	eventually(t, wait, "rc scaled", func() (bool, error) {
		got, err := c.cs.CoreV1().ReplicationControllers(c.ns).Get(ctx, "legacy", metav1.GetOptions{})
		return err == nil && got.Status.ReadyReplicas == 4, fmt.Errorf("status %+v", got.Status)
	})
}
