package storagetest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/storage"
)

// waitTimeout bounds every wait for an event.
const waitTimeout = 10 * time.Second

// event is the part of a watch event the suite compares.
type event struct {
	Type watch.EventType
	Name string
	V    string
	RV   string
}

func summarize(t *testing.T, ev watch.Event) event {
	t.Helper()
	switch o := ev.Object.(type) {
	case *corev1.ConfigMap:
		return event{Type: ev.Type, Name: o.Namespace + "/" + o.Name, V: o.Data["v"], RV: o.ResourceVersion}
	case *metav1.Status:
		return event{Type: ev.Type, Name: string(o.Reason), V: strconv.Itoa(int(o.Code))}
	}
	t.Fatalf("unexpected object %T in %s event", ev.Object, ev.Type)
	return event{}
}

func rvOf(t *testing.T, obj runtime.Object) string {
	t.Helper()
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		t.Fatalf("got %T, want *corev1.ConfigMap", obj)
	}
	if cm.ResourceVersion == "" {
		t.Fatalf("%s/%s has no resourceVersion", cm.Namespace, cm.Name)
	}
	return cm.ResourceVersion
}

func rvInt(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("bad resourceVersion %q", rv)
	}
	return n
}

func create(t *testing.T, s storage.Store, cm *corev1.ConfigMap) *corev1.ConfigMap {
	t.Helper()
	out, err := s.Create(t.Context(), Key(cm.Namespace, cm.Name), cm)
	if err != nil {
		t.Fatalf("create %s/%s: %v", cm.Namespace, cm.Name, err)
	}
	return out.(*corev1.ConfigMap)
}

// set updates the data of ns/name to v.
func set(t *testing.T, s storage.Store, ns, name, v string, labels map[string]string) *corev1.ConfigMap {
	t.Helper()
	out, err := s.GuaranteedUpdate(t.Context(), Key(ns, name), nil, func(cur runtime.Object) (runtime.Object, error) {
		cm := cur.(*corev1.ConfigMap).DeepCopy()
		cm.Data = map[string]string{"v": v}
		if labels != nil {
			cm.Labels = labels
		}
		return cm, nil
	})
	if err != nil {
		t.Fatalf("update %s/%s: %v", ns, name, err)
	}
	return out.(*corev1.ConfigMap)
}

func del(t *testing.T, s storage.Store, ns, name string) *corev1.ConfigMap {
	t.Helper()
	out, err := s.Delete(t.Context(), Key(ns, name), nil, nil)
	if err != nil {
		t.Fatalf("delete %s/%s: %v", ns, name, err)
	}
	return out.(*corev1.ConfigMap)
}

func startWatch(t *testing.T, s storage.Store, key string, opts storage.WatchOptions) watch.Interface {
	t.Helper()
	w, err := s.Watch(t.Context(), key, opts)
	if err != nil {
		t.Fatalf("watch %s: %v", key, err)
	}
	t.Cleanup(w.Stop)
	return w
}

func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed, want an event")
		}
		return ev
	case <-timer.C:
		t.Fatalf("no watch event after %v", waitTimeout)
	}
	return watch.Event{}
}

// nextN returns the next n events, skipping bookmarks unless keepBookmarks.
func nextN(t *testing.T, w watch.Interface, n int, keepBookmarks bool) []event {
	t.Helper()
	var got []event
	for len(got) < n {
		ev := next(t, w)
		if ev.Type == watch.Bookmark && !keepBookmarks {
			continue
		}
		got = append(got, summarize(t, ev))
	}
	return got
}

// waitClosed waits until w's channel is closed, draining events.
func waitClosed(t *testing.T, w watch.Interface) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("watch still open after %v", waitTimeout)
		}
	}
}

func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", op, err, want)
	}
}

func names(objs []runtime.Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		cm := o.(*corev1.ConfigMap)
		out = append(out, cm.Namespace+"/"+cm.Name)
	}
	return out
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}
