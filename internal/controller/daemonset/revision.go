package daemonset

import (
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
	"k8s.io/apimachinery/pkg/util/rand"
)

const defaultRevisionHistoryLimit = 10

// revisionData encodes the template as a patch that replaces the whole
// template, as upstream records DaemonSet revisions.
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

func templateOf(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
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

func sameTemplate(a *appsv1.ControllerRevision, t *corev1.PodTemplateSpec) bool {
	ta, err := templateOf(a)
	return err == nil && equality.Semantic.DeepEqual(ta, t)
}

// errCollision reports a revision name taken by different data.
var errCollision = errors.New("revision hash collision")

// ownedRevisions returns the revisions ds controls, oldest first.
func (c *Controller) ownedRevisions(ds *appsv1.DaemonSet) ([]*appsv1.ControllerRevision, error) {
	all, err := c.revLister.ControllerRevisions(ds.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ControllerRevision
	for _, r := range all {
		if ref := metav1.GetControllerOf(r); ref != nil && ref.UID == ds.UID {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *appsv1.ControllerRevision) int { return int(a.Revision - b.Revision) })
	return out, nil
}

// currentRevision returns the revision of ds's template and its hash,
// creating it, or renumbering an older equal one as the newest.
func (c *Controller) currentRevision(ctx context.Context, ds *appsv1.DaemonSet, revs []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, string, error) {
	next := int64(1)
	if len(revs) > 0 {
		next = revs[len(revs)-1].Revision + 1
	}
	for i := len(revs) - 1; i >= 0; i-- {
		r := revs[i]
		if !sameTemplate(r, &ds.Spec.Template) {
			continue
		}
		hash := r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
		if i == len(revs)-1 {
			return r, hash, nil
		}
		fresh := r.DeepCopy()
		fresh.Revision = next
		up, err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, fresh, metav1.UpdateOptions{})
		if err != nil {
			return nil, "", fmt.Errorf("renumber revision %s/%s: %w", r.Namespace, r.Name, err)
		}
		return up, hash, nil
	}
	data, err := revisionData(&ds.Spec.Template)
	if err != nil {
		return nil, "", fmt.Errorf("encode template of %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	hash := hashRevision(data, ds.Status.CollisionCount)
	want := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ds.Name + "-" + hash,
			Namespace:       ds.Namespace,
			Labels:          map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: hash},
			Annotations:     ds.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: next,
	}
	if ds.Spec.Selector != nil {
		for k, v := range ds.Spec.Selector.MatchLabels {
			want.Labels[k] = v
		}
	}
	created, err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		return created, hash, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, "", fmt.Errorf("create revision %s/%s: %w", want.Namespace, want.Name, err)
	}
	live, gerr := c.client.AppsV1().ControllerRevisions(ds.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
	if gerr != nil {
		return nil, "", fmt.Errorf("get revision %s/%s: %w", want.Namespace, want.Name, gerr)
	}
	ref := metav1.GetControllerOf(live)
	if sameTemplate(live, &ds.Spec.Template) && (ref == nil || ref.UID == ds.UID) {
		if ref == nil {
			adopt := live.DeepCopy()
			adopt.OwnerReferences = append(adopt.OwnerReferences, want.OwnerReferences...)
			adopt.Revision = next
			live, err = c.client.AppsV1().ControllerRevisions(ds.Namespace).Update(ctx, adopt, metav1.UpdateOptions{})
			if err != nil {
				return nil, "", fmt.Errorf("adopt revision %s/%s: %w", want.Namespace, want.Name, err)
			}
		}
		return live, hash, nil
	}
	return nil, "", fmt.Errorf("create revision %s/%s: %w", want.Namespace, want.Name, errCollision)
}

// truncateHistory deletes the oldest revisions no pod uses beyond
// spec.revisionHistoryLimit.
func (c *Controller) truncateHistory(ctx context.Context, ds *appsv1.DaemonSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, cur *appsv1.ControllerRevision) error {
	limit := defaultRevisionHistoryLimit
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	live := map[string]bool{}
	for _, p := range pods {
		live[p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] = true
	}
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if r.Name != cur.Name && !live[r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			old = append(old, r)
		}
	}
	for i := 0; i < len(old)-limit; i++ {
		err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Delete(ctx, old[i].Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s/%s: %w", ds.Namespace, old[i].Name, err)
		}
	}
	return nil
}
