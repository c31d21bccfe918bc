package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Claimer settles which dependents (pods, ReplicaSets) one owner
// controls, as upstream's ControllerRefManager: it keeps those it
// controls that still match, releases those it controls that no longer
// match, and adopts matching orphans. An owner being deleted neither
// adopts nor releases. The patches carry the dependent's UID, so that
// one deleted and made again under the same name is left alone.
type Claimer[D metav1.Object] struct {
	// Owner claims; Ref is the ControllerRef adoption writes.
	Owner metav1.Object
	Ref   metav1.OwnerReference
	// What names a dependent in errors ("pod", "replicaset").
	What string
	// Match reports whether the owner selects dep.
	Match func(dep D) bool
	// Patch applies a strategic merge patch to dep and returns the
	// dependent to count as claimed.
	Patch func(ctx context.Context, dep D, patch []byte) (D, error)
	// GetLive, if set, reads the owner from the API server before the
	// first adoption, so that an owner deleted or replaced since the
	// cache saw it adopts nothing; nil trusts the cache.
	GetLive func(ctx context.Context) (metav1.Object, error)
}

// Claim returns the dependents of deps the owner controls after adopting
// and releasing; errors of single dependents are joined, the others
// still claimed.
func (c Claimer[D]) Claim(ctx context.Context, deps []D) ([]D, error) {
	var (
		claimed  []D
		errs     []error
		checked  bool
		adoptErr error
	)
	canAdopt := func() error {
		if c.GetLive == nil || checked {
			return adoptErr
		}
		checked = true
		adoptErr = c.recheck(ctx)
		return adoptErr
	}
	owning := c.Owner.GetDeletionTimestamp() == nil
	for _, dep := range deps {
		ref := metav1.GetControllerOf(dep)
		switch {
		case ref != nil && ref.UID != c.Owner.GetUID():
			// Another owner's.
		case ref != nil && c.Match(dep):
			claimed = append(claimed, dep)
		case ref != nil && owning:
			// Not found: gone; invalid: the UID precondition failed, so
			// it is another object now. Neither is ours to release.
			_, err := c.Patch(ctx, dep, releasePatch(c.Owner.GetUID(), dep.GetUID()))
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
				errs = append(errs, fmt.Errorf("release %s %s/%s: %w", c.What, dep.GetNamespace(), dep.GetName(), err))
			}
		case ref == nil && owning && dep.GetDeletionTimestamp() == nil && c.Match(dep):
			if err := canAdopt(); err != nil {
				errs = append(errs, fmt.Errorf("adopt %s %s/%s: %w", c.What, dep.GetNamespace(), dep.GetName(), err))
				continue
			}
			adopted, err := c.Patch(ctx, dep, adoptPatch(c.Ref, dep.GetUID()))
			if err != nil {
				if !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("adopt %s %s/%s: %w", c.What, dep.GetNamespace(), dep.GetName(), err))
				}
				continue
			}
			claimed = append(claimed, adopted)
		}
	}
	return claimed, errors.Join(errs...)
}

// recheck reports why the live owner may not adopt: it is gone, another
// object under its name, or being deleted.
func (c Claimer[D]) recheck(ctx context.Context) error {
	fresh, err := c.GetLive(ctx)
	switch {
	case err != nil:
		return err
	case fresh.GetUID() != c.Owner.GetUID():
		return fmt.Errorf("original %s %s/%s is gone: got uid %v, wanted %v",
			c.Ref.Kind, c.Owner.GetNamespace(), c.Owner.GetName(), fresh.GetUID(), c.Owner.GetUID())
	case fresh.GetDeletionTimestamp() != nil:
		return fmt.Errorf("%s %s/%s has just been deleted at %v",
			c.Ref.Kind, c.Owner.GetNamespace(), c.Owner.GetName(), fresh.GetDeletionTimestamp())
	}
	return nil
}

// adoptPatch makes the object with uid controlled by ref.
func adoptPatch(ref metav1.OwnerReference, uid types.UID) []byte {
	return mustJSON(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{ref}, "uid": uid}})
}

// releasePatch removes the owner reference to owner from the object with
// uid.
func releasePatch(owner, uid types.UID) []byte {
	return mustJSON(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": owner}}, "uid": uid}})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain maps and API structs reach here
	}
	return b
}

// PatchPods returns a Claimer Patch for pods that writes through client
// and counts the cached pod as claimed: the informer brings the patched
// one soon enough, and nothing read from it before then depends on the
// owner reference.
func PatchPods(client kubernetes.Interface) func(ctx context.Context, pod *corev1.Pod, patch []byte) (*corev1.Pod, error) {
	return func(ctx context.Context, pod *corev1.Pod, patch []byte) (*corev1.Pod, error) {
		_, err := client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		return pod, err
	}
}
