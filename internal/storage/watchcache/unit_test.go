package watchcache_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/storage"
	"github.com/skiff/skiff/internal/storage/etcd3"
	"github.com/skiff/skiff/internal/storage/storagetest"
	"github.com/skiff/skiff/internal/storage/watchcache"
)

const waitTimeout = 10 * time.Second

// spyStore counts the reads and watches reaching the underlying store and
// can break its watches.
type spyStore struct {
	*etcd3.Store
	reads   atomic.Int64
	watches atomic.Int64

	mu      sync.Mutex
	cancels []context.CancelFunc
}

func (s *spyStore) Get(ctx context.Context, key string, opts storage.GetOptions) (runtime.Object, error) {
	s.reads.Add(1)
	return s.Store.Get(ctx, key, opts)
}

func (s *spyStore) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	s.reads.Add(1)
	return s.Store.List(ctx, prefix, opts)
}

func (s *spyStore) Watch(ctx context.Context, key string, opts storage.WatchOptions) (watch.Interface, error) {
	s.watches.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.cancels = append(s.cancels, cancel)
	s.mu.Unlock()
	return s.Store.Watch(ctx, key, opts)
}

// breakWatches ends every watch started so far.
func (s *spyStore) breakWatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.cancels {
		cancel()
	}
	s.cancels = nil
}

func newSpyCache(t *testing.T, cfg watchcache.Config) (*watchcache.Cache, *spyStore) {
	t.Helper()
	cli := storagetest.StartEtcd(t)
	spy := &spyStore{Store: etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)}
	cfg.Prefix = storagetest.Prefix
	cfg.NewFunc = storagetest.NewConfigMap
	c, err := watchcache.New(t.Context(), spy, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c, spy
}

func create(t *testing.T, s storage.Store, ns, name string) *corev1.ConfigMap {
	t.Helper()
	out, err := s.Create(t.Context(), storagetest.Key(ns, name), storagetest.ConfigMap(ns, name, "1", nil))
	if err != nil {
		t.Fatal(err)
	}
	return out.(*corev1.ConfigMap)
}

func next(t *testing.T, w watch.Interface) (watch.Event, bool) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case ev, ok := <-w.ResultChan():
		return ev, ok
	case <-timer.C:
		t.Fatalf("no watch event after %v", waitTimeout)
	}
	return watch.Event{}, false
}

func rvOf(t *testing.T, obj runtime.Object) string {
	t.Helper()
	return obj.(metav1.Object).GetResourceVersion()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v", what, waitTimeout)
		}
		<-tick.C
	}
}

func TestConsistentReadServedFromCache(t *testing.T) {
	c, spy := newSpyCache(t, watchcache.Config{WaitTimeout: waitTimeout})
	create(t, c, "a", "x")
	// A write under another prefix moves etcd's revision without an event
	// for the cache; progress requests must let it catch up anyway.
	if _, err := spy.Store.Create(t.Context(), "/registry/other/y", storagetest.ConfigMap("", "y", "1", nil)); err != nil {
		t.Fatal(err)
	}
	before := spy.reads.Load()
	start := time.Now()
	res, err := c.List(t.Context(), storagetest.Prefix, storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(t.Context(), storagetest.Key("a", "x"), storage.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := spy.reads.Load() - before; got != 0 {
		t.Errorf("consistent reads reached the underlying store %d times, want 0 (took %v)", got, time.Since(start))
	}
	rev, err := spy.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.ResourceVersion != rev {
		t.Errorf("list resourceVersion %d, want the current revision %d", res.ResourceVersion, rev)
	}
}

func TestReadsDelegated(t *testing.T) {
	c, spy := newSpyCache(t, watchcache.Config{})
	rv := create(t, c, "a", "x").ResourceVersion
	tests := []struct {
		name     string
		opts     storage.ListOptions
		delegate bool
	}{
		{name: "any version", opts: storage.ListOptions{ResourceVersion: "0", Limit: 1}},
		{name: "not older than", opts: storage.ListOptions{ResourceVersion: rv}},
		{name: "consistent paged", opts: storage.ListOptions{Limit: 1}, delegate: true},
		{name: "paged at a version", opts: storage.ListOptions{ResourceVersion: rv, Limit: 1}, delegate: true},
		{name: "exact", opts: storage.ListOptions{ResourceVersion: rv, Match: storage.MatchExact}, delegate: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := spy.reads.Load()
			tc.opts.Recursive = true
			if _, err := c.List(t.Context(), storagetest.Prefix, tc.opts); err != nil {
				t.Fatal(err)
			}
			if got := spy.reads.Load() > before; got != tc.delegate {
				t.Errorf("delegated = %v, want %v", got, tc.delegate)
			}
		})
	}
}

func TestManyWatchersOneUnderlyingWatch(t *testing.T) {
	c, spy := newSpyCache(t, watchcache.Config{})
	const n = 10000
	ws := make([]watch.Interface, n)
	for i := range ws {
		w, err := c.Watch(t.Context(), storagetest.Prefix, storage.WatchOptions{ResourceVersion: "0", Recursive: true, SendInitialEvents: new(bool)})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ws[i] = w
	}
	rv := create(t, c, "a", "x").ResourceVersion
	for i, w := range ws {
		ev, ok := next(t, w)
		if !ok || ev.Type != watch.Added || rvOf(t, ev.Object) != rv {
			t.Fatalf("watcher %d got %v %v, want ADDED at %s", i, ev.Type, ok, rv)
		}
	}
	if got := spy.watches.Load(); got != 1 {
		t.Errorf("underlying watches = %d, want 1", got)
	}
}

func TestSlowWatcherDoesNotBlockOthers(t *testing.T) {
	c, _ := newSpyCache(t, watchcache.Config{WatcherBuffer: 2})
	opts := storage.WatchOptions{Recursive: true, SendInitialEvents: new(bool)}
	slow, err := c.Watch(t.Context(), storagetest.Prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	fast, err := c.Watch(t.Context(), storagetest.Prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Stop()
	const writes = 20
	for i := range writes {
		create(t, c, "a", "o"+strconv.Itoa(i))
		if ev, ok := next(t, fast); !ok || ev.Type != watch.Added {
			t.Fatalf("fast watcher event %d: %v %v", i, ev.Type, ok)
		}
	}
	// The slow watcher was terminated: it delivers what it had buffered
	// and closes.
	got := 0
	for {
		if _, ok := next(t, slow); !ok {
			break
		}
		got++
	}
	if got >= writes {
		t.Errorf("slow watcher got all %d events, want it terminated early", got)
	}
}

func TestPeriodicBookmarks(t *testing.T) {
	c, _ := newSpyCache(t, watchcache.Config{BookmarkInterval: 20 * time.Millisecond})
	rv := create(t, c, "a", "x").ResourceVersion
	w, err := c.Watch(t.Context(), storagetest.Prefix, storage.WatchOptions{ResourceVersion: rv, Recursive: true, AllowBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev, ok := next(t, w)
	if !ok || ev.Type != watch.Bookmark {
		t.Fatalf("got %v %v, want BOOKMARK", ev.Type, ok)
	}
	cm := ev.Object.(*corev1.ConfigMap)
	if cm.ResourceVersion != rv || cm.Name != "" || len(cm.Annotations) != 0 {
		t.Errorf("bookmark %+v, want only resourceVersion %s", cm.ObjectMeta, rv)
	}
}

func TestRelistAfterWatchFailure(t *testing.T) {
	c, spy := newSpyCache(t, watchcache.Config{RetryInterval: 10 * time.Millisecond})
	w, err := c.Watch(t.Context(), storagetest.Prefix, storage.WatchOptions{Recursive: true, SendInitialEvents: new(bool)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	spy.breakWatches()
	// Watchers are terminated, as they may miss what happens before the
	// cache has listed again.
	for {
		if _, ok := next(t, w); !ok {
			break
		}
	}
	eventually(t, "second underlying watch", func() bool { return spy.watches.Load() >= 2 })
	out := create(t, spy.Store, "a", "late")
	eventually(t, "cache sees a write after relisting", func() bool {
		got, err := c.Get(t.Context(), storagetest.Key("a", "late"), storage.GetOptions{ResourceVersion: "0"})
		return err == nil && rvOf(t, got) == out.ResourceVersion
	})
	// A new watch works again, replaying from the new list.
	w2, err := c.Watch(t.Context(), storagetest.Prefix, storage.WatchOptions{ResourceVersion: "0", Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	if ev, ok := next(t, w2); !ok || ev.Type != watch.Added {
		t.Fatalf("got %v %v, want ADDED", ev.Type, ok)
	}
}

func TestWatchFutureVersion(t *testing.T) {
	c, _ := newSpyCache(t, watchcache.Config{WaitTimeout: 50 * time.Millisecond})
	_, err := c.Watch(t.Context(), storagetest.Prefix, storage.WatchOptions{ResourceVersion: "100000", Recursive: true})
	if err == nil {
		t.Fatal("watch from the future: want error")
	}
}

// TestReadOwnWrites: a read at LastWriteRevision sees the newest write made
// through the cache, from memory.
func TestReadOwnWrites(t *testing.T) {
	c, _ := newSpyCache(t, watchcache.Config{})
	if rev := c.LastWriteRevision(); rev != 0 {
		t.Fatalf("LastWriteRevision before any write = %d, want 0", rev)
	}
	created, err := c.Create(t.Context(), storagetest.Key("ns", "a"), storagetest.ConfigMap("ns", "a", "1", nil))
	if err != nil {
		t.Fatal(err)
	}
	rv := created.(*corev1.ConfigMap).ResourceVersion
	if got := strconv.FormatInt(c.LastWriteRevision(), 10); got != rv {
		t.Fatalf("LastWriteRevision = %s, want the create's %s", got, rv)
	}
	res, err := c.List(t.Context(), storagetest.Prefix, storage.ListOptions{Recursive: true, ResourceVersion: rv})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].(*corev1.ConfigMap).ResourceVersion != rv {
		t.Fatalf("list at %s: %v", rv, res.Items)
	}
	deleted, err := c.Delete(t.Context(), storagetest.Key("ns", "a"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strconv.FormatInt(c.LastWriteRevision(), 10); got != deleted.(*corev1.ConfigMap).ResourceVersion {
		t.Fatalf("LastWriteRevision after delete = %s, want %s", got, deleted.(*corev1.ConfigMap).ResourceVersion)
	}
}
