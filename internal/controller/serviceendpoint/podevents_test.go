package serviceendpoint

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func TestPodEvents(t *testing.T) {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, svc := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "db"}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "manual"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
	} {
		if err := indexer.Add(svc); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(rv, app string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", ResourceVersion: rv, Labels: map[string]string{"app": app}}}
	}
	tests := []struct {
		name string
		fire func(h cache.ResourceEventHandlerFuncs)
		want []string // sorted
	}{
		{"add", func(h cache.ResourceEventHandlerFuncs) { h.OnAdd(pod("1", "web"), false) }, []string{"ns/web"}},
		{"add selected by none", func(h cache.ResourceEventHandlerFuncs) { h.OnAdd(pod("1", "cache"), false) }, nil},
		{"update keeps labels", func(h cache.ResourceEventHandlerFuncs) { h.OnUpdate(pod("1", "web"), pod("2", "web")) }, []string{"ns/web"}},
		{"update moves between services", func(h cache.ResourceEventHandlerFuncs) { h.OnUpdate(pod("1", "web"), pod("2", "db")) }, []string{"ns/db", "ns/web"}},
		{"resync ignored", func(h cache.ResourceEventHandlerFuncs) { h.OnUpdate(pod("1", "web"), pod("1", "db")) }, nil},
		{"tombstone", func(h cache.ResourceEventHandlerFuncs) {
			h.OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/p", Obj: pod("1", "db")})
		}, []string{"ns/db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			e := PodEvents{Services: corelisters.NewServiceLister(indexer), Enqueue: func(key string) { got = append(got, key) }}
			tt.fire(e.Handler())
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("enqueued %q, want %q", got, tt.want)
			}
		})
	}
}
