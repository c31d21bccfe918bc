package kubelet

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/kubelet/staticpod"
)

// TestSyncStaticPod runs a static pod: its mirror is created in the API
// (owned by the Node), receives the pod's status, and is replaced when it
// no longer matches the manifest.
func TestSyncStaticPod(t *testing.T) {
	h := newHarness(t, "busybox")
	ctx := context.Background()
	node, err := h.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	h.k.pods = corelisters.NewPodLister(indexer)
	refresh := func() *corev1.Pod {
		t.Helper()
		m, err := h.client.CoreV1().Pods("default").Get(ctx, "web-n1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := indexer.Update(m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	static, err := staticpod.FromManifest([]byte(`apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: c, image: busybox, imagePullPolicy: Never, command: [sleep, "3600"]}]
`), "/m/web.yaml", "n1")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := h.k.syncStatic(ctx, static.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	mirror := refresh()
	if !staticpod.IsMirror(mirror) || !staticpod.MirrorMatches(static, mirror) || len(mirror.OwnerReferences) != 1 || mirror.OwnerReferences[0].UID != node.UID {
		t.Fatalf("mirror pod %+v", mirror.ObjectMeta)
	}
	sbs, err := h.rt.ListPodSandbox(ctx, nil)
	if err != nil || len(sbs) != 1 || sbs[0].Labels[labelPodUID] != string(static.UID) {
		t.Fatalf("sandboxes %v (%v): want one for the static pod's UID", sbs, err)
	}

	// The next sync posts the running container's status to the mirror.
	if _, err := h.k.syncStatic(ctx, static.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	mirror = refresh()
	if mirror.Status.Phase != corev1.PodRunning || len(mirror.Status.ContainerStatuses) != 1 || mirror.Status.ContainerStatuses[0].State.Running == nil {
		t.Fatalf("mirror status %+v", mirror.Status)
	}

	// A mirror of another version of the manifest is replaced; the
	// static pod's sandbox stays.
	mirror.Annotations[staticpod.AnnotationMirror] = "old"
	if _, err := h.client.CoreV1().Pods("default").Update(ctx, mirror, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	refresh()
	if _, err := h.k.syncStatic(ctx, static.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	if m := refresh(); !staticpod.MirrorMatches(static, m) {
		t.Errorf("stale mirror kept: %v", m.Annotations)
	}
	if sbs, _ := h.rt.ListPodSandbox(ctx, nil); len(sbs) != 1 {
		t.Errorf("%d sandboxes after the mirror was replaced, want 1", len(sbs))
	}
}
