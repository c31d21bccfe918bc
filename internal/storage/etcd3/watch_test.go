package etcd3

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/storage"
)

func TestTransform(t *testing.T) {
	cm := func(v string) runtime.Object {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: v, Labels: map[string]string{"app": v}}}
	}
	web := storage.Predicate{Label: labels.SelectorFromSet(labels.Set{"app": "web"})}
	tests := []struct {
		name      string
		pred      storage.Predicate
		typ       watch.EventType
		obj, prev runtime.Object
		wantType  watch.EventType
		wantName  string // "" when filtered out
	}{
		{name: "no predicate", typ: watch.Modified, obj: cm("db"), prev: cm("web"), wantType: watch.Modified, wantName: "db"},
		{name: "added matching", pred: web, typ: watch.Added, obj: cm("web"), wantType: watch.Added, wantName: "web"},
		{name: "added other", pred: web, typ: watch.Added, obj: cm("db")},
		{name: "modified both match", pred: web, typ: watch.Modified, obj: cm("web"), prev: cm("web"), wantType: watch.Modified, wantName: "web"},
		{name: "starts matching", pred: web, typ: watch.Modified, obj: cm("web"), prev: cm("db"), wantType: watch.Added, wantName: "web"},
		{name: "stops matching", pred: web, typ: watch.Modified, obj: cm("db"), prev: cm("web"), wantType: watch.Deleted, wantName: "web"},
		{name: "never matches", pred: web, typ: watch.Modified, obj: cm("db"), prev: cm("db")},
		{name: "deleted matching", pred: web, typ: watch.Deleted, obj: cm("web"), wantType: watch.Deleted, wantName: "web"},
		{name: "deleted other", pred: web, typ: watch.Deleted, obj: cm("db")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok, err := transform(tc.pred, tc.typ, tc.obj, tc.prev)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				Type watch.EventType
				Name string
			}
			want := result{Type: tc.wantType, Name: tc.wantName}
			got := result{}
			if ok {
				got = result{Type: ev.Type, Name: ev.Object.(*corev1.ConfigMap).Name}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
