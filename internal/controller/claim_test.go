package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestClaimer(t *testing.T) {
	kind := appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	owner := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rs", UID: "owner"}}
	other := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "x", UID: "other"}}
	pod := func(name, app string, ctrl *appsv1.ReplicaSet, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("u-" + name), Labels: map[string]string{"app": app}}}
		if ctrl != nil {
			p.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(ctrl, kind)}
		}
		if deleting {
			p.DeletionTimestamp = &metav1.Time{}
		}
		return p
	}
	deleting := owner.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{}
	replaced := owner.DeepCopy()
	replaced.UID = "new"

	tests := []struct {
		name      string
		owner     *appsv1.ReplicaSet
		live      *appsv1.ReplicaSet // nil: no live check
		pods      []*corev1.Pod
		patchErr  error
		want      []string // claimed
		wantPatch []string // "adopt p" / "release p"
		wantErr   string
	}{
		{name: "owned and matching kept", owner: owner, pods: []*corev1.Pod{pod("a", "web", owner, false)}, want: []string{"a"}},
		{name: "another owner's ignored", owner: owner, pods: []*corev1.Pod{pod("a", "web", other, false)}},
		{name: "owned not matching released", owner: owner, pods: []*corev1.Pod{pod("a", "db", owner, false)}, wantPatch: []string{"release a"}},
		{name: "orphan matching adopted", owner: owner, pods: []*corev1.Pod{pod("a", "web", nil, false)}, want: []string{"a"}, wantPatch: []string{"adopt a"}},
		{name: "terminating orphan left", owner: owner, pods: []*corev1.Pod{pod("a", "web", nil, true)}},
		{name: "deleting owner neither adopts nor releases but keeps", owner: deleting,
			pods: []*corev1.Pod{pod("a", "web", nil, false), pod("b", "db", deleting, false), pod("c", "web", deleting, false)}, want: []string{"c"}},
		{name: "release of a replaced pod is no error", owner: owner, pods: []*corev1.Pod{pod("a", "db", owner, false)},
			patchErr: apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Pod").GroupKind(), "a", nil), wantPatch: []string{"release a"}},
		{name: "adopting a gone pod is no error", owner: owner, pods: []*corev1.Pod{pod("a", "web", nil, false)},
			patchErr: apierrors.NewNotFound(corev1.Resource("pods"), "a"), wantPatch: []string{"adopt a"}},
		{name: "adopt error reported", owner: owner, pods: []*corev1.Pod{pod("a", "web", nil, false)},
			patchErr: errors.New("boom"), wantPatch: []string{"adopt a"}, wantErr: "adopt pod ns/a: boom"},
		{name: "live owner replaced adopts nothing", owner: owner, live: replaced,
			pods: []*corev1.Pod{pod("a", "web", nil, false), pod("b", "web", owner, false)}, want: []string{"b"}, wantErr: "original ReplicaSet ns/rs is gone"},
		{name: "live owner same adopts", owner: owner, live: owner, pods: []*corev1.Pod{pod("a", "web", nil, false)}, want: []string{"a"}, wantPatch: []string{"adopt a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var patched []string
			c := Claimer[*corev1.Pod]{
				Owner: tt.owner,
				Ref:   *metav1.NewControllerRef(tt.owner, kind),
				What:  "pod",
				Match: func(p *corev1.Pod) bool { return p.Labels["app"] == "web" },
				Patch: func(_ context.Context, p *corev1.Pod, patch []byte) (*corev1.Pod, error) {
					verb := "adopt "
					if strings.Contains(string(patch), `"$patch":"delete"`) {
						verb = "release "
					}
					if !strings.Contains(string(patch), string(p.UID)) {
						t.Errorf("patch %s does not guard the pod's uid", patch)
					}
					patched = append(patched, verb+p.Name)
					return p, tt.patchErr
				},
			}
			if tt.live != nil {
				c.GetLive = func(context.Context) (metav1.Object, error) { return tt.live, nil }
			}
			got, err := c.Claim(context.Background(), tt.pods)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tt.want) || !slices.Equal(patched, tt.wantPatch) {
				t.Errorf("claimed %q patched %q, want %q and %q", names, patched, tt.want, tt.wantPatch)
			}
		})
	}
}
