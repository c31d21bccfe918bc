package kubelet

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/kubelet/staticpod"
)

// staticPollPeriod is how often the manifest directory is read again.
const staticPollPeriod = 2 * time.Second

// staticPods is the node's static pods, read from Config.StaticPodPath.
type staticPods struct {
	// pods are the current static pods by key; seen the time each UID
	// was first read (config.seen).
	pods map[string]*corev1.Pod
	seen map[types.UID]time.Time
	// nodeUID owns the mirror pods (read once).
	nodeUID types.UID
}

// loadStaticPods reads the manifest directory and enqueues the keys of
// the static pods that appeared, changed or went away.
func (k *Kubelet) loadStaticPods(context.Context) {
	if k.cfg.StaticPodPath == "" {
		return
	}
	now := k.clock.Now()
	k.staticMu.Lock()
	seen := func(uid types.UID) time.Time {
		if t, ok := k.static.seen[uid]; ok {
			return t
		}
		k.static.seen[uid] = now
		return now
	}
	pods, errs := staticpod.Load(k.cfg.StaticPodPath, k.cfg.NodeName, seen)
	if pods == nil { // the directory could not be read: keep what runs
		k.staticMu.Unlock()
		k.log.Warn("Reading static pod manifests failed", "err", errs)
		return
	}
	old := k.static.pods
	k.static.pods = pods
	for uid := range k.static.seen {
		if !hasUID(pods, uid) {
			delete(k.static.seen, uid)
		}
	}
	k.staticMu.Unlock()
	for _, err := range errs {
		k.log.Warn("Skipping a static pod manifest", "err", err)
	}
	for key, p := range pods {
		if o, ok := old[key]; !ok || o.UID != p.UID {
			k.log.Info("Static pod read", "pod", key, "uid", p.UID)
			k.queue.Add(key)
		}
	}
	for key := range old {
		if _, ok := pods[key]; !ok {
			k.log.Info("Static pod removed", "pod", key)
			k.queue.Add(key)
		}
	}
}

func hasUID(pods map[string]*corev1.Pod, uid types.UID) bool {
	for _, p := range pods {
		if p.UID == uid {
			return true
		}
	}
	return false
}

// staticPod returns a copy of the static pod of key, or nil.
func (k *Kubelet) staticPod(key string) *corev1.Pod {
	k.staticMu.Lock()
	defer k.staticMu.Unlock()
	if p := k.static.pods[key]; p != nil {
		return p.DeepCopy()
	}
	return nil
}

// staticPodList returns copies of every static pod.
func (k *Kubelet) staticPodList() []*corev1.Pod {
	k.staticMu.Lock()
	defer k.staticMu.Unlock()
	out := make([]*corev1.Pod, 0, len(k.static.pods))
	for _, key := range slices.Sorted(maps.Keys(k.static.pods)) {
		out = append(out, k.static.pods[key].DeepCopy())
	}
	return out
}

// syncStatic keeps the mirror pod of static pod key in the API and runs
// the static pod; status goes to the mirror. It returns how soon to sync
// again.
func (k *Kubelet) syncStatic(ctx context.Context, pod *corev1.Pod) (time.Duration, error) {
	mirror, err := k.pods.Pods(pod.Namespace).Get(pod.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return 0, err
	}
	if err != nil {
		mirror = nil
	}
	if mirror != nil && (!staticpod.IsMirror(mirror) || !staticpod.MirrorMatches(pod, mirror) || mirror.DeletionTimestamp != nil) {
		if !staticpod.IsMirror(mirror) {
			// An API pod holds the static pod's name: leave it alone and
			// run the static pod without a mirror, as upstream does.
			mirror = nil
		} else {
			if err := k.deleteMirror(ctx, mirror); err != nil {
				return 0, err
			}
			mirror = nil
		}
	}
	if mirror == nil {
		if err := k.createMirror(ctx, pod); err != nil {
			k.log.Warn("Creating a mirror pod failed", "pod", staticpod.Key(pod), "err", err)
		}
	} else {
		pod.Status = *mirror.Status.DeepCopy()
	}
	return k.syncPod(ctx, pod)
}

// createMirror creates the API mirror of static pod pod.
func (k *Kubelet) createMirror(ctx context.Context, pod *corev1.Pod) error {
	k.staticMu.Lock()
	nodeUID := k.static.nodeUID
	k.staticMu.Unlock()
	if nodeUID == "" {
		node, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node %s: %w", k.cfg.NodeName, err)
		}
		nodeUID = node.UID
		k.staticMu.Lock()
		k.static.nodeUID = nodeUID
		k.staticMu.Unlock()
	}
	_, err := k.client.CoreV1().Pods(pod.Namespace).Create(ctx, staticpod.Mirror(pod, nodeUID), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create mirror pod %s: %w", staticpod.Key(pod), err)
	}
	if err == nil {
		k.log.Info("Created mirror pod", "pod", staticpod.Key(pod))
	}
	return nil
}

// deleteMirror deletes a mirror pod at once (its static pod, if any, keeps
// running).
func (k *Kubelet) deleteMirror(ctx context.Context, mirror *corev1.Pod) error {
	err := k.client.CoreV1().Pods(mirror.Namespace).Delete(ctx, mirror.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &mirror.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete mirror pod %s/%s: %w", mirror.Namespace, mirror.Name, err)
	}
	return nil
}

// updateMirrorStatus posts the status of static pod pod to its mirror,
// when the mirror is there.
func (k *Kubelet) updateMirrorStatus(ctx context.Context, pod *corev1.Pod) error {
	mirror, err := k.pods.Pods(pod.Namespace).Get(pod.Name)
	if err != nil || !staticpod.IsMirror(mirror) || !staticpod.MirrorMatches(pod, mirror) {
		return nil // no mirror yet: the next sync posts it
	}
	if equality.Semantic.DeepEqual(mirror.Status, pod.Status) {
		return nil
	}
	m := mirror.DeepCopy()
	m.Status = pod.Status
	if _, err := k.client.CoreV1().Pods(m.Namespace).UpdateStatus(ctx, m, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of mirror pod %s/%s: %w", m.Namespace, m.Name, err)
	}
	return nil
}
