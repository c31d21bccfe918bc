package statefulset

import (
	"context"
	"encoding/json"
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
	"k8s.io/apimachinery/pkg/util/rand"
)

// labelRevisionHash labels a ControllerRevision with its hash, as
// upstream's history package does.
const labelRevisionHash = "controller.kubernetes.io/hash"

// defaultRevisionHistoryLimit applies when spec.revisionHistoryLimit is
// unset.
const defaultRevisionHistoryLimit = 10

// revisionPatch is the data of a revision: the pod template, marked to
// replace the whole template when applied, as upstream records it.
type revisionPatch struct {
	Spec struct {
		Template json.RawMessage `json:"template"`
	} `json:"spec"`
}

// revisionData encodes template as revision data.
func revisionData(template *corev1.PodTemplateSpec) ([]byte, error) {
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

// templateOf decodes the pod template a revision records.
func templateOf(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var p revisionPatch
	if err := json.Unmarshal(rev.Data.Raw, &p); err != nil {
		return nil, fmt.Errorf("decode revision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	t := &corev1.PodTemplateSpec{}
	if len(p.Spec.Template) > 0 {
		if err := json.Unmarshal(p.Spec.Template, t); err != nil {
			return nil, fmt.Errorf("decode revision %s/%s: %w", rev.Namespace, rev.Name, err)
		}
	}
	return t, nil
}

// hashRevision hashes revision data and the collision count (FNV-32, in
// the safe-encoding alphabet), as upstream names revisions.
func hashRevision(data []byte, collisionCount *int32) string {
	h := fnv.New32()
	h.Write(data) // a hash.Hash never fails to write
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// sameTemplate reports whether two revisions record equal templates.
func sameTemplate(a, b *appsv1.ControllerRevision) bool {
	ta, err1 := templateOf(a)
	tb, err2 := templateOf(b)
	return err1 == nil && err2 == nil && equality.Semantic.DeepEqual(ta, tb)
}

// ownedRevisions returns the revisions set controls, oldest first.
func (c *Controller) ownedRevisions(set *appsv1.StatefulSet) ([]*appsv1.ControllerRevision, error) {
	all, err := c.revLister.ControllerRevisions(set.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOf(r); ref != nil && ref.UID == set.UID {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *appsv1.ControllerRevision) int {
		if a.Revision != b.Revision {
			return int(a.Revision - b.Revision)
		}
		return compareStrings(a.Name, b.Name)
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// errCollision reports a revision name taken by different data; the
// caller bumps status.collisionCount and retries.
type errCollision struct{ name string }

func (e errCollision) Error() string { return "hash collision on revision " + e.name }

// revisions returns set's current and update revisions, creating the
// update revision (or renumbering an older equal one, on a rollback) when
// the template changed. revs are the owned revisions, oldest first.
func (c *Controller) revisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) (current, update *appsv1.ControllerRevision, err error) {
	data, err := revisionData(&set.Spec.Template)
	if err != nil {
		return nil, nil, fmt.Errorf("encode template of %s/%s: %w", set.Namespace, set.Name, err)
	}
	next := int64(1)
	if len(revs) > 0 {
		next = revs[len(revs)-1].Revision + 1
	}
	hash := hashRevision(data, set.Status.CollisionCount)
	want := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            set.Name + "-" + hash,
			Namespace:       set.Namespace,
			Labels:          map[string]string{labelRevisionHash: hash},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: next,
	}
	if set.Spec.Selector != nil {
		for k, v := range set.Spec.Selector.MatchLabels {
			want.Labels[k] = v
		}
	}
	var equal []*appsv1.ControllerRevision
	for _, r := range revs {
		if sameTemplate(r, want) {
			equal = append(equal, r)
		}
	}
	switch {
	case len(equal) > 0 && equal[len(equal)-1] == revs[len(revs)-1]:
		update = equal[len(equal)-1]
	case len(equal) > 0:
		// A rollback to an older template: that revision becomes the
		// newest rather than getting a twin.
		r := equal[len(equal)-1].DeepCopy()
		r.Revision = next
		update, err = c.client.AppsV1().ControllerRevisions(set.Namespace).Update(ctx, r, metav1.UpdateOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("renumber revision %s/%s: %w", r.Namespace, r.Name, err)
		}
	default:
		update, err = c.createRevision(ctx, set, want)
		if err != nil {
			return nil, nil, err
		}
	}
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision {
			current = r
		}
	}
	if current == nil {
		current = update
	}
	return current, update, nil
}

func (c *Controller) createRevision(ctx context.Context, set *appsv1.StatefulSet, want *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	created, err := c.client.AppsV1().ControllerRevisions(set.Namespace).Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		return created, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create revision %s/%s: %w", want.Namespace, want.Name, err)
	}
	live, gerr := c.client.AppsV1().ControllerRevisions(set.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, fmt.Errorf("get revision %s/%s: %w", want.Namespace, want.Name, gerr)
	}
	ref := metav1.GetControllerOf(live)
	if sameTemplate(live, want) && (ref == nil || ref.UID == set.UID) {
		if ref != nil {
			return live, nil
		}
		// An orphan with our template (the set was deleted with
		// --cascade=orphan and made again): adopt it.
		adopt := live.DeepCopy()
		adopt.OwnerReferences = append(adopt.OwnerReferences, want.OwnerReferences...)
		adopt.Revision = want.Revision
		return c.client.AppsV1().ControllerRevisions(set.Namespace).Update(ctx, adopt, metav1.UpdateOptions{})
	}
	return nil, errCollision{name: want.Name}
}

// truncateHistory deletes the oldest revisions that no pod uses and that
// are neither current nor update, beyond spec.revisionHistoryLimit.
func (c *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, current, update *appsv1.ControllerRevision) error {
	limit := defaultRevisionHistoryLimit
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	live := map[string]bool{current.Name: true, update.Name: true}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			old = append(old, r)
		}
	}
	for i := 0; i < len(old)-limit; i++ {
		err := c.client.AppsV1().ControllerRevisions(set.Namespace).Delete(ctx, old[i].Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s/%s: %w", set.Namespace, old[i].Name, err)
		}
	}
	return nil
}
