//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

func names(items []corev1.ConfigMap) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

func mustNamespace(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
}

// TestListAndWatch pins paging, selectors and watch semantics.
func TestListAndWatch(t *testing.T) {
	t.Parallel()
	s, c := startAPI(t)
	ctx := ctxT(t)

	t.Run("pagination", func(t *testing.T) {
		const ns = "page"
		mustNamespace(t, c, ns)
		var all []string
		for i := 0; i < 55; i++ {
			n := fmt.Sprintf("cm-%03d", i)
			mustCreateCM(t, c, ns, n, "1")
			all = append(all, n)
		}
		var got []string
		opts := metav1.ListOptions{Limit: 10}
		pages := 0
		var firstRV string
		for {
			l, err := c.CoreV1().ConfigMaps(ns).List(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if pages == 1 {
				firstRV = l.ResourceVersion
				if l.RemainingItemCount == nil || *l.RemainingItemCount != 45 {
					t.Errorf("first page remainingItemCount = %v, want 45", l.RemainingItemCount)
				}
			} else if l.ResourceVersion != firstRV {
				t.Errorf("page %d resourceVersion = %s, want the first page's %s", pages, l.ResourceVersion, firstRV)
			}
			got = append(got, names(l.Items)...)
			if len(l.Items) > 10 {
				t.Errorf("page %d has %d items, limit 10", pages, len(l.Items))
			}
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("paged list (-want +got):\n%s", diff)
		}
		if pages != 6 {
			t.Errorf("%d pages, want 6", pages)
		}
		// Writes between pages do not show up: the list is a snapshot.
		l, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		mustCreateCM(t, c, ns, "cm-999", "1")
		mustDelete(t, c, ns, "cm-054")
		l2, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 50, Continue: l.Continue})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(all[50:], names(l2.Items)); diff != "" {
			t.Errorf("second page after writes (-want +got):\n%s", diff)
		}

		// A continue token from before a compaction is expired.
		l, err = c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		mustUpdateCM(t, c, ns, "cm-000", "2")
		compact(t, s)
		_, err = c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 5, Continue: l.Continue})
		if !apierrors.IsResourceExpired(err) {
			t.Errorf("continue after compaction: err = %v, want 410 Expired", err)
		} else if !strings.HasPrefix(err.Error(), "The provided continue parameter is too old to display a consistent list result.") {
			t.Errorf("continue after compaction: message = %q, want upstream's \"The provided continue parameter is too old to display a consistent list result. ...\"", err.Error())
		}
		_, err = c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{Limit: 5, Continue: "garbage"})
		if !apierrors.IsBadRequest(err) {
			t.Errorf("continue=garbage: err = %v, want 400", err)
		}
	})

	t.Run("label selectors", func(t *testing.T) {
		const ns = "labels"
		mustNamespace(t, c, ns)
		for _, o := range []struct{ name, env, tier string }{
			{"a", "prod", "web"}, {"b", "prod", "db"}, {"c", "dev", "web"}, {"d", "test", ""}, {"e", "", ""},
		} {
			labels := map[string]string{}
			if o.env != "" {
				labels["env"] = o.env
			}
			if o.tier != "" {
				labels["tier"] = o.tier
			}
			if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: o.name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for sel, want := range map[string][]string{
			"env=prod":                          {"a", "b"},
			"env==prod,tier=web":                {"a"},
			"env!=prod":                         {"c", "d", "e"},
			"env in (prod,dev)":                 {"a", "b", "c"},
			"env in (prod,dev),tier notin (db)": {"a", "c"},
			"tier":                              {"a", "b", "c"},
			"!tier":                             {"d", "e"},
			"env notin (prod)":                  {"c", "d", "e"},
			"env=nothing":                       {},
			"env in (prod,dev,test),!tier":      {"d"},
		} {
			l, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				t.Errorf("%q: %v", sel, err)
				continue
			}
			if diff := cmp.Diff(want, names(l.Items)); diff != "" {
				t.Errorf("labelSelector %q (-want +got):\n%s", sel, diff)
			}
		}
		_, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "env in prod"})
		if !apierrors.IsBadRequest(err) {
			t.Errorf("malformed label selector: err = %v, want 400", err)
		}
	})

	t.Run("field selectors", func(t *testing.T) {
		const ns = "fields"
		mustNamespace(t, c, ns)
		for _, p := range []struct{ name, node string }{{"p1", "n1"}, {"p2", "n2"}, {"p3", ""}} {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name},
				Spec: corev1.PodSpec{NodeName: p.node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
			if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		p2, err := c.CoreV1().Pods(ns).Get(ctx, "p2", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p2.Status.Phase = corev1.PodRunning
		if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, p2, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for sel, want := range map[string][]string{
			"metadata.name=p2":                      {"p2"},
			"metadata.name!=p2":                     {"p1", "p3"},
			"spec.nodeName=n1":                      {"p1"},
			"spec.nodeName=":                        {"p3"},
			"spec.nodeName!=":                       {"p1", "p2"},
			"status.phase=Running":                  {"p2"},
			"status.phase=Pending":                  {"p1", "p3"},
			"status.phase!=Running,spec.nodeName!=": {"p1"},
			"metadata.namespace=" + ns:              {"p1", "p2", "p3"},
		} {
			l, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
			if err != nil {
				t.Errorf("%q: %v", sel, err)
				continue
			}
			got := []string{}
			for _, p := range l.Items {
				got = append(got, p.Name)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fieldSelector %q (-want +got):\n%s", sel, diff)
			}
		}
		_, err = c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.foo=bar"})
		if !apierrors.IsBadRequest(err) || err.Error() != `field label not supported: spec.foo` {
			t.Errorf("unsupported field: err = %v, want 400 %q", err, "field label not supported: spec.foo")
		}
		_, err = c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{FieldSelector: "data.v=1"})
		if !apierrors.IsBadRequest(err) || err.Error() != `field label not supported: data.v` {
			t.Errorf("unsupported field on configmaps: err = %v, want 400 %q", err, "field label not supported: data.v")
		}
	})

	t.Run("watch resumes from a resourceVersion", func(t *testing.T) {
		const ns = "watch"
		mustNamespace(t, c, ns)
		cm := mustCreateCM(t, c, ns, "w", "1")
		mustUpdateCM(t, c, ns, "w", "2")
		mustCreateCM(t, c, ns, "w2", "1")
		mustDelete(t, c, ns, "w")
		w, err := c.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: cm.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		got := collect(t, w, 3, 10*time.Second)
		want := []string{"MODIFIED w v=2", "ADDED w2 v=1", "DELETED w v=2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events from resourceVersion %s (-want +got):\n%s", cm.ResourceVersion, diff)
		}
		// A watch on one name sees only that object.
		w3, err := c.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=w2", ResourceVersion: cm.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w3.Stop()
		if diff := cmp.Diff([]string{"ADDED w2 v=1"}, collect(t, w3, 1, 10*time.Second)); diff != "" {
			t.Errorf("watch by name (-want +got):\n%s", diff)
		}
	})

	t.Run("watch from a compacted resourceVersion", func(t *testing.T) {
		const ns = "old"
		mustNamespace(t, c, ns)
		cm := mustCreateCM(t, c, ns, "o", "1")
		mustUpdateCM(t, c, ns, "o", "2")
		mustCreateCM(t, c, ns, "o2", "1") // the compaction must pass the first event's revision
		compact(t, s)
		// The watch cache serves its recent history from memory, past etcd
		// compaction, as upstream's does; versions older than the cache
		// (from before this server process started) go to etcd, which has
		// compacted them.
		s.Restart()
		w, err := c.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: cm.ResourceVersion})
		if err != nil {
			// Also acceptable upstream: the watch request itself fails with 410.
			if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
				t.Fatalf("watch from compacted rv: %v, want 410", err)
			}
			return
		}
		defer w.Stop()
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed without an event")
			}
			if ev.Type != watch.Error {
				t.Fatalf("first event %s, want ERROR 410", ev.Type)
			}
			err := apierrors.FromObject(ev.Object)
			if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
				t.Errorf("error event %v, want 410 Expired/Gone", err)
			}
			if st, ok := ev.Object.(*metav1.Status); !ok || st.Code != 410 {
				t.Errorf("error event object %#v, want a Status with code 410", ev.Object)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event from a watch at a compacted resourceVersion")
		}
	})

	t.Run("sendInitialEvents", func(t *testing.T) {
		const ns = "initial"
		mustNamespace(t, c, ns)
		mustCreateCM(t, c, ns, "i1", "1")
		mustCreateCM(t, c, ns, "i2", "1")
		w, err := c.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{
			SendInitialEvents: ptr.To(true), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		var got []string
		deadline := time.After(10 * time.Second)
	loop:
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatal("watch closed")
				}
				if ev.Type == watch.Bookmark {
					m := ev.Object.(*corev1.ConfigMap)
					got = append(got, fmt.Sprintf("BOOKMARK initial-events-end=%s rv-set=%v", m.Annotations[metav1.InitialEventsAnnotationKey], m.ResourceVersion != ""))
					break loop
				}
				got = append(got, eventString(ev))
			case <-deadline:
				t.Fatalf("no initial-events-end bookmark; got %v", got)
			}
		}
		want := []string{"ADDED i1 v=1", "ADDED i2 v=1", "BOOKMARK initial-events-end=true rv-set=true"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("initial events (-want +got):\n%s", diff)
		}
		mustUpdateCM(t, c, ns, "i1", "2")
		if diff := cmp.Diff([]string{"MODIFIED i1 v=2"}, collect(t, w, 1, 10*time.Second)); diff != "" {
			t.Errorf("event after the initial ones (-want +got):\n%s", diff)
		}

		_, err = c.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{SendInitialEvents: ptr.To(true)})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan") {
			t.Errorf("sendInitialEvents without NotOlderThan: err = %v, want 422 with \"resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan\"", err)
		}
	})

	t.Run("timeoutSeconds ends the watch and bookmarks come before it", func(t *testing.T) {
		start := time.Now()
		w, err := c.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{TimeoutSeconds: ptr.To[int64](4), AllowWatchBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		bookmarks := 0
		timeout := time.After(20 * time.Second)
		for done := false; !done; {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					done = true
					break
				}
				if ev.Type == watch.Bookmark {
					bookmarks++
				}
			case <-timeout:
				t.Fatal("watch with timeoutSeconds=4 still open after 20s")
			}
		}
		if d := time.Since(start); d < 3*time.Second {
			t.Errorf("watch with timeoutSeconds=4 ended after %v", d)
		}
		// Upstream's watch cache sends a bookmark about 2s before a
		// watch's deadline to watchers that allow them.
		if bookmarks == 0 {
			t.Errorf("no BOOKMARK event before the watch's timeout with allowWatchBookmarks=true")
		}
	})
}

func eventString(ev watch.Event) string {
	switch o := ev.Object.(type) {
	case *corev1.ConfigMap:
		return string(ev.Type) + " " + cmString(o)
	case *metav1.Status:
		return string(ev.Type) + " " + o.Message
	}
	return fmt.Sprintf("%s %T", ev.Type, ev.Object)
}

// collect reads n events (bookmarks aside) from w.
func collect(t *testing.T, w watch.Interface, n int, timeout time.Duration) []string {
	t.Helper()
	var got []string
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Errorf("watch closed after %v", got)
				return got
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			got = append(got, eventString(ev))
		case <-deadline:
			t.Errorf("timed out with events %v, want %d", got, n)
			return got
		}
	}
	return got
}
