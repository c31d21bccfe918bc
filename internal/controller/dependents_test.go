package controller

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

func TestDependentEvents(t *testing.T) {
	kind := appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	owner := func(name string, uid types.UID, app string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid},
			Spec: appsv1.ReplicaSetSpec{
				MinReadySeconds: 5,
				Selector:        &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			},
		}
	}
	a, b := owner("a", "ua", "web"), owner("b", "ub", "db")
	owners := map[string]*appsv1.ReplicaSet{"a": a, "b": b}
	pod := func(rv, app string, ctrl *appsv1.ReplicaSet, ready bool, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", ResourceVersion: rv, Labels: map[string]string{"app": app}}}
		if ctrl != nil {
			p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(ctrl, kind)}
		}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		if deleting {
			p.DeletionTimestamp = &metav1.Time{}
		}
		return p
	}
	gone := owner("a", "old-uid", "web") // same name, another object

	tests := []struct {
		name string
		fire func(h cache.ResourceEventHandlerFuncs)
		// want lists what the hooks saw, in order.
		want []string
	}{
		{"add owned", func(h cache.ResourceEventHandlerFuncs) { h.OnAdd(pod("1", "web", a, false, false), false) },
			[]string{"created ns/a", "enqueue ns/a"}},
		{"add owned by a deleted namesake", func(h cache.ResourceEventHandlerFuncs) { h.OnAdd(pod("1", "web", gone, false, false), false) },
			nil},
		{"add orphan wakes selecting owners", func(h cache.ResourceEventHandlerFuncs) { h.OnAdd(pod("1", "db", nil, false, false), false) },
			[]string{"enqueue ns/b"}},
		{"add terminating counts as deleted", func(h cache.ResourceEventHandlerFuncs) { h.OnAdd(pod("1", "web", a, false, true), false) },
			[]string{"deleted ns/a ns/p", "enqueue ns/a"}},
		{"resync ignored", func(h cache.ResourceEventHandlerFuncs) {
			h.OnUpdate(pod("1", "web", a, false, false), pod("1", "db", b, true, false))
		},
			nil},
		{"became ready", func(h cache.ResourceEventHandlerFuncs) {
			h.OnUpdate(pod("1", "web", a, false, false), pod("2", "web", a, true, false))
		},
			[]string{"enqueue ns/a", "after ns/a 6s"}},
		{"controller changed", func(h cache.ResourceEventHandlerFuncs) {
			h.OnUpdate(pod("1", "web", a, false, false), pod("2", "db", b, false, false))
		},
			[]string{"enqueue ns/a", "enqueue ns/b"}},
		{"released orphan wakes selecting owners", func(h cache.ResourceEventHandlerFuncs) {
			h.OnUpdate(pod("1", "web", a, false, false), pod("2", "web", nil, false, false))
		},
			[]string{"enqueue ns/a", "enqueue ns/a"}},
		{"orphan relabelled", func(h cache.ResourceEventHandlerFuncs) {
			h.OnUpdate(pod("1", "web", nil, false, false), pod("2", "db", nil, false, false))
		},
			[]string{"enqueue ns/b"}},
		{"deletion began with new labels tells both", func(h cache.ResourceEventHandlerFuncs) {
			h.OnUpdate(pod("1", "web", a, false, false), pod("2", "db", b, false, true))
		}, []string{"deleted ns/b ns/p", "enqueue ns/b", "deleted ns/a ns/p", "enqueue ns/a"}},
		{"tombstone", func(h cache.ResourceEventHandlerFuncs) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/p", Obj: pod("1", "web", a, false, false)})
		}, []string{"deleted ns/a ns/p", "enqueue ns/a"}},
		{"deleted orphan", func(h cache.ResourceEventHandlerFuncs) { h.OnDelete(pod("1", "web", nil, false, false)) },
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			e := DependentEvents[*appsv1.ReplicaSet]{
				Owners: Owners[*appsv1.ReplicaSet]{
					Kind: kind,
					Get: func(_, name string) (*appsv1.ReplicaSet, error) {
						if o, ok := owners[name]; ok {
							return o, nil
						}
						return nil, apierrors.NewNotFound(appsv1.Resource("replicasets"), name)
					},
					List:     func(string) ([]*appsv1.ReplicaSet, error) { return []*appsv1.ReplicaSet{a, b}, nil },
					Selector: func(rs *appsv1.ReplicaSet) *metav1.LabelSelector { return rs.Spec.Selector },
				},
				Enqueue: func(key string) { got = append(got, "enqueue "+key) },
				Created: func(key string) { got = append(got, "created "+key) },
				Deleted: func(key string, dep metav1.Object) {
					got = append(got, "deleted "+key+" "+dep.GetNamespace()+"/"+dep.GetName())
				},
				MinReadySeconds: func(rs *appsv1.ReplicaSet) int32 { return rs.Spec.MinReadySeconds },
				EnqueueAfter:    func(key string, d time.Duration) { got = append(got, "after "+key+" "+d.String()) },
			}
			tt.fire(e.Handler())
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
