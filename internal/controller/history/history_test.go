package history

import (
	"context"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

var kind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

func owner(uid types.UID, image string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: uid},
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}},
		},
	}
}

// revision returns the revision New builds for set's template, numbered n
// and controlled by controller (none when nil).
func revision(t *testing.T, set *appsv1.StatefulSet, n int64, controller *appsv1.StatefulSet) *appsv1.ControllerRevision {
	t.Helper()
	r, err := New(set, kind, &set.Spec.Template, set.Spec.Selector, nil, "h")
	if err != nil {
		t.Fatal(err)
	}
	r.Revision = n
	r.OwnerReferences = nil
	if controller != nil {
		r.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(controller, kind)}
	}
	return r
}

func TestEnsure(t *testing.T) {
	set1, set2 := owner("u1", "v1"), owner("u1", "v2")
	rev1, rev2 := revision(t, set1, 1, set1), revision(t, set2, 2, set1)
	tests := []struct {
		name     string
		set      *appsv1.StatefulSet
		revs     []*appsv1.ControllerRevision // owned, oldest first
		existing []runtime.Object             // in the API only
		wantName string
		wantRev  int64
		wantErr  error
	}{
		{name: "first revision is created", set: set1, wantName: rev1.Name, wantRev: 1},
		{name: "newest equal is reused", set: set2, revs: []*appsv1.ControllerRevision{rev1, rev2}, wantName: rev2.Name, wantRev: 2},
		{name: "rollback renumbers the older revision", set: set1, revs: []*appsv1.ControllerRevision{rev1, rev2}, wantName: rev1.Name, wantRev: 3},
		{name: "new template gets the next number", set: set2, revs: []*appsv1.ControllerRevision{rev1}, wantName: rev2.Name, wantRev: 2},
		{name: "orphan with the same template is adopted", set: set1, existing: []runtime.Object{revision(t, set1, 7, nil)}, wantName: rev1.Name, wantRev: 1},
		{name: "name held by another owner collides", set: set1, existing: []runtime.Object{revision(t, set1, 1, owner("u2", "v1"))}, wantErr: ErrCollision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := append([]runtime.Object{}, tt.existing...)
			for _, r := range tt.revs {
				objs = append(objs, r.DeepCopy())
			}
			client := fake.NewClientset(objs...)
			want, err := New(tt.set, kind, &tt.set.Spec.Template, tt.set.Spec.Selector, nil, "h")
			if err != nil {
				t.Fatal(err)
			}
			got, err := Ensure(context.Background(), client, tt.revs, want, &tt.set.Spec.Template)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Ensure error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if got.Name != tt.wantName || got.Revision != tt.wantRev {
				t.Errorf("Ensure = %s #%d, want %s #%d", got.Name, got.Revision, tt.wantName, tt.wantRev)
			}
			if ref := metav1.GetControllerOf(got); ref == nil || ref.UID != tt.set.UID {
				t.Errorf("Ensure returned a revision controlled by %v, want %s", ref, tt.set.UID)
			}
			stored, err := client.AppsV1().ControllerRevisions("ns").Get(context.Background(), got.Name, metav1.GetOptions{})
			if err != nil || stored.Revision != tt.wantRev {
				t.Errorf("stored revision = %v (%v), want #%d", stored, err, tt.wantRev)
			}
			if !SameTemplate(stored, &tt.set.Spec.Template) {
				t.Errorf("stored revision does not record the template")
			}
		})
	}
}

func TestOwnedAndTruncate(t *testing.T) {
	set, other := owner("u1", "v1"), owner("u2", "v1")
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	var objs []runtime.Object
	for _, r := range []*appsv1.ControllerRevision{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}, Revision: 2},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"}, Revision: 1},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}, Revision: 2},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "x"}, Revision: 0},
	} {
		r.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(set, kind)}
		if r.Name == "x" {
			r.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(other, kind)}
		}
		if err := indexer.Add(r); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, r)
	}
	revs, err := Owned(appslisters.NewControllerRevisionLister(indexer), "ns", set.UID)
	if err != nil {
		t.Fatal(err)
	}
	var names string
	for _, r := range revs {
		names += r.Name
	}
	if names != "bac" {
		t.Fatalf("Owned = %s, want bac (by number, then name; not another owner's)", names)
	}

	client := fake.NewClientset(objs...)
	if err := Truncate(context.Background(), client, "ns", revs, ptr.To[int32](1)); err != nil {
		t.Fatal(err)
	}
	left, _ := client.AppsV1().ControllerRevisions("ns").List(context.Background(), metav1.ListOptions{})
	names = ""
	for _, r := range left.Items {
		names += r.Name
	}
	if names != "cx" {
		t.Errorf("after Truncate to 1: %s, want cx (the oldest two of set's deleted)", names)
	}
}

func TestNextCollisionCount(t *testing.T) {
	if got := *NextCollisionCount(nil); got != 1 {
		t.Errorf("NextCollisionCount(nil) = %d, want 1", got)
	}
	if got := *NextCollisionCount(ptr.To[int32](4)); got != 5 {
		t.Errorf("NextCollisionCount(4) = %d, want 5", got)
	}
}
