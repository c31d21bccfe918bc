package history

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
)

// DefaultLimit is how many unused revisions are kept when
// spec.revisionHistoryLimit is unset.
const DefaultLimit = 10

// ErrCollision reports a revision name taken by different data (or by
// another owner); the caller bumps status.collisionCount, which changes
// the hash, and retries.
var ErrCollision = errors.New("revision hash collision")

// Data encodes template as revision data: a patch that replaces the
// whole template, as upstream records DaemonSet and StatefulSet
// revisions, so that kubectl rollout undo can apply it.
func Data(template *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": m}})
}

// Template decodes the pod template rev records; a revision without one
// records the empty template.
func Template(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var p struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &p); err != nil {
		return nil, fmt.Errorf("decode revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return &p.Spec.Template, nil
}

// Hash hashes revision data and the collision count (FNV-32, in the
// safe-encoding alphabet), as upstream names revisions.
func Hash(data []byte, collisionCount *int32) string {
	h := fnv.New32()
	h.Write(data) // a hash.Hash never fails to write
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// SameTemplate reports whether rev records a template semantically equal
// to t; an undecodable revision records none.
func SameTemplate(rev *appsv1.ControllerRevision, t *corev1.PodTemplateSpec) bool {
	rt, err := Template(rev)
	return err == nil && equality.Semantic.DeepEqual(rt, t)
}

// New returns the revision that records template for owner: named
// owner-hash, labelled hashLabel=hash and with the selector's matchLabels
// (so that a lister can select the owner's revisions), controlled by
// owner. Revision is left for Ensure to number.
func New(owner metav1.Object, kind schema.GroupVersionKind, template *corev1.PodTemplateSpec, selector *metav1.LabelSelector, collisionCount *int32, hashLabel string) (*appsv1.ControllerRevision, error) {
	data, err := Data(template)
	if err != nil {
		return nil, fmt.Errorf("encode template of %s/%s: %w", owner.GetNamespace(), owner.GetName(), err)
	}
	hash := Hash(data, collisionCount)
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            owner.GetName() + "-" + hash,
			Namespace:       owner.GetNamespace(),
			Labels:          map[string]string{hashLabel: hash},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, kind)},
		},
		Data: runtime.RawExtension{Raw: data},
	}
	if selector != nil {
		for k, v := range selector.MatchLabels {
			rev.Labels[k] = v
		}
	}
	return rev, nil
}

// Owned returns the revisions in namespace controlled by the object with
// UID owner, oldest first (equal numbers by name, so that the order does
// not depend on the cache's).
func Owned(lister appslisters.ControllerRevisionLister, namespace string, owner types.UID) ([]*appsv1.ControllerRevision, error) {
	all, err := lister.ControllerRevisions(namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOf(r); ref != nil && ref.UID == owner {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *appsv1.ControllerRevision) int {
		return cmp.Or(cmp.Compare(a.Revision, b.Revision), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// Ensure returns the revision recording template, the newest of revs
// (the owner's revisions, oldest first). An older revision recording it
// (a rollback) is renumbered as the newest rather than given a twin;
// otherwise want, built by New for template, is created with the next
// number. A revision already holding want's name with the same template
// is used, and adopted if orphaned (its owner was deleted with
// --cascade=orphan and made again); one with other data or another owner
// is ErrCollision. want is not modified.
func Ensure(ctx context.Context, client kubernetes.Interface, revs []*appsv1.ControllerRevision, want *appsv1.ControllerRevision, template *corev1.PodTemplateSpec) (*appsv1.ControllerRevision, error) {
	api := client.AppsV1().ControllerRevisions(want.Namespace)
	next := int64(1)
	if len(revs) > 0 {
		next = revs[len(revs)-1].Revision + 1
	}
	for i := len(revs) - 1; i >= 0; i-- {
		r := revs[i]
		if !SameTemplate(r, template) {
			continue
		}
		if i == len(revs)-1 {
			return r, nil
		}
		fresh := r.DeepCopy()
		fresh.Revision = next
		up, err := api.Update(ctx, fresh, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("renumber revision %s/%s: %w", r.Namespace, r.Name, err)
		}
		return up, nil
	}
	create := want.DeepCopy()
	create.Revision = next
	created, err := api.Create(ctx, create, metav1.CreateOptions{})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create revision %s/%s: %w", want.Namespace, want.Name, err)
	}
	live, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get revision %s/%s: %w", want.Namespace, want.Name, err)
	}
	owner := metav1.GetControllerOf(create)
	ref := metav1.GetControllerOf(live)
	if !SameTemplate(live, template) || (ref != nil && (owner == nil || ref.UID != owner.UID)) {
		return nil, fmt.Errorf("create revision %s/%s: %w", want.Namespace, want.Name, ErrCollision)
	}
	if ref != nil {
		return live, nil
	}
	adopt := live.DeepCopy()
	adopt.OwnerReferences = append(adopt.OwnerReferences, create.OwnerReferences...)
	adopt.Revision = next
	live, err = api.Update(ctx, adopt, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("adopt revision %s/%s: %w", want.Namespace, want.Name, err)
	}
	return live, nil
}

// Truncate deletes the oldest of unused (revisions no pod and no status
// field refers to, oldest first) beyond limit, or DefaultLimit when
// limit is nil. A revision already gone counts as deleted.
func Truncate(ctx context.Context, client kubernetes.Interface, namespace string, unused []*appsv1.ControllerRevision, limit *int32) error {
	keep := DefaultLimit
	if limit != nil {
		keep = int(*limit)
	}
	for i := 0; i < len(unused)-keep; i++ {
		err := client.AppsV1().ControllerRevisions(namespace).Delete(ctx, unused[i].Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s/%s: %w", namespace, unused[i].Name, err)
		}
	}
	return nil
}

// NextCollisionCount returns the status.collisionCount to write after
// ErrCollision: one more than count, or 1 when unset. The new count
// changes the hash, so the next sync names the revision differently.
func NextCollisionCount(count *int32) *int32 {
	n := int32(1)
	if count != nil {
		n = *count + 1
	}
	return &n
}
