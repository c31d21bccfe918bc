package kubelet

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestSyncPodVolumesAndEnv: the container is created with its volume
// mounts and its resolved environment.
func TestSyncPodVolumesAndEnv(t *testing.T) {
	h := newHarness(t, "busybox")
	ctx := context.Background()
	if _, err := h.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := testPod(corev1.RestartPolicyAlways, corev1.PullNever)
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	c := &pod.Spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/cfg"}, {Name: "scratch", MountPath: "/data", SubPath: "sub"}}
	c.Env = append(c.Env, corev1.EnvVar{Name: "K", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "k"}}})
	h.create(t, pod)
	got, _ := h.sync(t)
	if got.Status.Phase != corev1.PodRunning {
		t.Fatalf("phase = %s, want Running; status %+v", got.Status.Phase, got.Status.ContainerStatuses)
	}
	st, err := h.rt.ContainerStatus(ctx, h.running(t), false)
	if err != nil {
		t.Fatal(err)
	}
	podDir := filepath.Join(h.k.cfg.PodsDir, string(pod.UID), "volumes")
	want := map[string]string{
		"/etc/cfg": filepath.Join(podDir, "kubernetes.io~configmap", "cfg") + " ro",
		"/data":    filepath.Join(podDir, "kubernetes.io~empty-dir", "scratch", "sub") + " rw",
	}
	mounts := map[string]string{}
	for _, m := range st.Status.Mounts {
		mode := "rw"
		if m.Readonly {
			mode = "ro"
		}
		mounts[m.ContainerPath] = m.HostPath + " " + mode
	}
	for path, w := range want {
		if mounts[path] != w {
			t.Errorf("mount %s = %q, want %q", path, mounts[path], w)
		}
	}

	// Deleting the pod removes its volumes.
	if err := h.k.killPod(ctx, pod, pod.UID, time.Second); err != nil {
		t.Fatal(err)
	}
	if vols := h.k.volumes.Volumes(pod.UID); vols != nil {
		t.Errorf("volumes after killPod: %v", vols)
	}
}

// TestSyncPodWaitsForVolumes: a pod whose volume cannot be set up gets
// no sandbox and waits in ContainerCreating; one whose env names a
// missing ConfigMap waits in CreateContainerConfigError.
func TestSyncPodWaitsForVolumes(t *testing.T) {
	h := newHarness(t, "busybox")
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing")
	dir := corev1.HostPathDirectory
	pod := testPod(corev1.RestartPolicyAlways, corev1.PullNever)
	pod.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: missing, Type: &dir}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
	h.create(t, pod)
	got, _ := h.sync(t)
	if w := got.Status.ContainerStatuses[0].State.Waiting; got.Status.Phase != corev1.PodPending || w == nil || w.Reason != "ContainerCreating" {
		t.Errorf("status = %s %+v, want Pending, waiting in ContainerCreating", got.Status.Phase, got.Status.ContainerStatuses[0].State)
	}
	if list, _ := h.rt.ListPodSandbox(ctx, nil); len(list) != 0 {
		t.Errorf("sandboxes = %v, want none before the volumes are ready", list)
	}
	wantEvent := `MountVolume.SetUp failed for volume "host" : hostPath type check failed: ` + missing + ` is not a directory`
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, _ := h.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		found := false
		for _, e := range events.Items {
			found = found || (e.Reason == "FailedMount" && e.Message == wantEvent && e.Type == corev1.EventTypeWarning)
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no FailedMount event %q in %v", wantEvent, events.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The env of the next pod names a missing ConfigMap.
	if err := h.client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pod = testPod(corev1.RestartPolicyAlways, corev1.PullNever)
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "K", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k"}}}}
	h.create(t, pod)
	got, _ = h.sync(t)
	w := got.Status.ContainerStatuses[0].State.Waiting
	if w == nil || w.Reason != "CreateContainerConfigError" || w.Message != `configmap "nope" not found` {
		t.Errorf("waiting = %+v, want CreateContainerConfigError: configmap \"nope\" not found", w)
	}
	list, _ := h.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{})
	if len(list) != 0 {
		t.Errorf("containers = %v, want none", list)
	}
}
