//go:build integration

package integration

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// recorder keeps the events an informer's handler saw, in order.
type recorder struct {
	mu      sync.Mutex
	events  []string
	resyncs int // updates without a change, which only a re-list produces
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func cmString(cm *corev1.ConfigMap) string { return cm.Name + " v=" + cm.Data["v"] }

func (r *recorder) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { r.add("ADD " + cmString(obj.(*corev1.ConfigMap))) },
		UpdateFunc: func(old, cur interface{}) {
			o, c := old.(*corev1.ConfigMap), cur.(*corev1.ConfigMap)
			if o.ResourceVersion == c.ResourceVersion {
				r.mu.Lock()
				r.resyncs++
				r.mu.Unlock()
				return
			}
			r.add("UPDATE " + cmString(c))
		},
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			r.add("DELETE " + obj.(*corev1.ConfigMap).Name)
		},
	}
}

// countingLW is a ListerWatcher that counts the calls the reflector makes
// and, when classic is set, tells the reflector not to use WatchList.
type countingLW struct {
	*cache.ListWatch
	classic bool

	mu                       sync.Mutex
	lists, watches, streamed int
}

func (lw *countingLW) IsWatchListSemanticsUnSupported() bool { return lw.classic }

func (lw *countingLW) counts() (lists, watches, streamed int) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.lists, lw.watches, lw.streamed
}

func newCountingLW(c kubernetes.Interface, ns string, classic bool) *countingLW {
	lw := &countingLW{classic: classic}
	lw.ListWatch = &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			lw.mu.Lock()
			lw.lists++
			lw.mu.Unlock()
			return c.CoreV1().ConfigMaps(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			lw.mu.Lock()
			lw.watches++
			if o.SendInitialEvents != nil && *o.SendInitialEvents {
				lw.streamed++
			}
			lw.mu.Unlock()
			return c.CoreV1().ConfigMaps(ns).Watch(ctx, o)
		},
	}
	return lw
}

// TestInformerAcrossRestart checks that a shared informer sees every add,
// update and delete in order: with a live watch, across a restart of the
// server on the same data dir and port, and for changes made while its
// watch was broken (server stopped, started, changed at once).
func TestInformerAcrossRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		classic bool
	}{
		{name: "WatchList", classic: false},
		{name: "ListAndWatch", classic: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, c := startAPI(t)
			ctx := ctxT(t)
			const ns = "inf"
			if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			// A pre-existing object: the initial list (or initial events) must deliver it.
			mustCreateCM(t, c, ns, "a", "1")

			lw := newCountingLW(c, ns, tc.classic)
			inf := cache.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 0, cache.Indexers{})
			rec := &recorder{}
			if _, err := inf.AddEventHandler(rec.handler()); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); inf.Run(stop) }()
			t.Cleanup(func() { close(stop); <-done })
			if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
				t.Fatal("informer did not sync")
			}

			var want []string
			waitEvents := func(phase string) {
				t.Helper()
				eventually(t, wait, phase+" events", func() (bool, error) {
					return len(rec.get()) >= len(want), nil
				})
				if diff := cmp.Diff(want, rec.get()); diff != "" {
					t.Fatalf("%s: events (-want +got):\n%s", phase, diff)
				}
			}
			want = append(want, "ADD a v=1")
			waitEvents("initial")

			// Phase 1: a live watch.
			mustCreateCM(t, c, ns, "b", "1")
			mustUpdateCM(t, c, ns, "a", "2")
			mustDelete(t, c, ns, "b")
			mustCreateCM(t, c, ns, "c", "1")
			want = append(want, "ADD b v=1", "UPDATE a v=2", "DELETE b", "ADD c v=1")
			waitEvents("live")

			// Phase 2: restart, then change. Names are chosen so that a
			// re-list would deliver the same sequence as a resumed watch.
			restart(t, s, c)
			c = s.Client()
			mustUpdateCM(t, c, ns, "c", "2")
			mustCreateCM(t, c, ns, "d", "1")
			mustDelete(t, c, ns, "a")
			want = append(want, "UPDATE c v=2", "ADD d v=1", "DELETE a")
			waitEvents("after restart")

			// Phase 3: stop, start and change at once, while the
			// reflector is still backing off from its broken watch.
			s.Stop()
			s.Start()
			c = s.Client()
			mustUpdateCM(t, c, ns, "c", "3")
			mustCreateCM(t, c, ns, "e", "1")
			mustDelete(t, c, ns, "d")
			want = append(want, "UPDATE c v=3", "ADD e v=1", "DELETE d")
			waitEvents("while the watch was broken")

			// The cache now equals the server's list.
			list, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var fromServer, fromCache []string
			for _, cm := range list.Items {
				fromServer = append(fromServer, cmString(&cm)+" rv="+cm.ResourceVersion)
			}
			for _, key := range inf.GetStore().ListKeys() {
				o, _, _ := inf.GetStore().GetByKey(key)
				cm := o.(*corev1.ConfigMap)
				fromCache = append(fromCache, cmString(cm)+" rv="+cm.ResourceVersion)
			}
			if diff := cmp.Diff(fromServer, sortedCopy(fromCache)); diff != "" {
				t.Errorf("informer cache differs from the server (-server +cache):\n%s", diff)
			}

			lists, watches, streamed := lw.counts()
			t.Logf("reflector calls: %d lists, %d watches (%d with sendInitialEvents), %d no-op updates", lists, watches, streamed, rec.resyncs)
			if !tc.classic && lists > 0 {
				t.Errorf("WatchList reflector fell back to %d list calls: the server's sendInitialEvents stream was refused", lists)
			}
			if rec.resyncs > 0 {
				t.Logf("the reflector re-listed instead of resuming its watch (%d unchanged objects redelivered)", rec.resyncs)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func mustCreateCM(t *testing.T, c kubernetes.Interface, ns, name, v string) *corev1.ConfigMap {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": v},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create configmap %s/%s: %v", ns, name, err)
	}
	return cm
}

func mustUpdateCM(t *testing.T, c kubernetes.Interface, ns, name, v string) *corev1.ConfigMap {
	t.Helper()
	ctx := context.Background()
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap %s/%s: %v", ns, name, err)
	}
	cm.Data = map[string]string{"v": v}
	cm, err = c.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update configmap %s/%s: %v", ns, name, err)
	}
	return cm
}

func mustDelete(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	if err := c.CoreV1().ConfigMaps(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete configmap %s/%s: %v", ns, name, err)
	}
}
