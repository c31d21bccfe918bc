package watchcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/storage"
)

// Defaults for Config fields left zero.
const (
	DefaultCapacity         = 4096
	DefaultWatcherBuffer    = 100
	DefaultBookmarkInterval = time.Minute
	DefaultWaitTimeout      = 3 * time.Second
	DefaultRetryInterval    = time.Second
	progressInterval        = 100 * time.Millisecond
)

// Config configures a Cache.
type Config struct {
	// Prefix is the key prefix of the resource, such as /registry/pods/.
	// Required; a trailing "/" is added if missing.
	Prefix string
	// NewFunc returns an empty object of the resource, for bookmarks and
	// Get with IgnoreNotFound. Required.
	NewFunc func() runtime.Object
	// KeyFunc returns an object's key. Nil means Prefix + namespace + "/" +
	// name for namespaced objects and Prefix + name otherwise.
	KeyFunc func(obj runtime.Object) (string, error)
	// Capacity is how many recent events are kept for watches that resume
	// from a resourceVersion. Zero means DefaultCapacity.
	Capacity int
	// WatcherBuffer is how many events may wait for a slow watcher before
	// it is terminated. Zero means DefaultWatcherBuffer.
	WatcherBuffer int
	// BookmarkInterval is how often watchers that allow bookmarks get one.
	// Zero means DefaultBookmarkInterval.
	BookmarkInterval time.Duration
	// WaitTimeout bounds how long a read waits for the cache to reach a
	// revision. Zero means DefaultWaitTimeout.
	WaitTimeout time.Duration
	// RetryInterval is the pause before listing again after the underlying
	// store failed a List. Zero means DefaultRetryInterval.
	RetryInterval time.Duration
	// Logger receives the cache's logs. Nil discards them.
	Logger *slog.Logger
}

// progressRequester is implemented by underlying stores (etcd3.Store) whose
// watches can be asked to send a bookmark at the current revision.
type progressRequester interface {
	RequestProgress(ctx context.Context) error
}

// errWaitTimeout means the cache did not reach a revision in time.
var errWaitTimeout = errors.New("watch cache did not catch up in time")

// Cache is a storage.Store serving one resource's reads and watches from
// memory. Writes go to the underlying store.
type Cache struct {
	under    storage.Store
	progress progressRequester
	cfg      Config
	log      *slog.Logger

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped chan struct{} // closed when the reflector has ended

	mu     sync.Mutex
	closed bool // set by Stop
	ready  bool
	items  map[string]runtime.Object
	rev    int64 // the revision the cache reflects
	// lastWrite is the newest revision written through the cache.
	lastWrite int64
	horizon   int64 // every event after horizon is in events
	events    *ring
	// changed is closed and replaced whenever rev or ready changes.
	changed  chan struct{}
	watchers map[int64]*cacheWatcher
	nextID   int64
}

var _ storage.Store = (*Cache)(nil)

// New starts a cache of the objects under cfg.Prefix in under. Its
// goroutines end when ctx ends or Stop is called; reads made before the
// first List completes go to the underlying store.
func New(ctx context.Context, under storage.Store, cfg Config) (*Cache, error) {
	if cfg.Prefix == "" || cfg.NewFunc == nil || under == nil {
		return nil, errors.New("watch cache: Prefix, NewFunc and the underlying store are required")
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.KeyFunc == nil {
		prefix := cfg.Prefix
		cfg.KeyFunc = func(obj runtime.Object) (string, error) {
			m, err := meta.Accessor(obj)
			if err != nil {
				return "", err
			}
			if ns := m.GetNamespace(); ns != "" {
				return prefix + ns + "/" + m.GetName(), nil
			}
			return prefix + m.GetName(), nil
		}
	}
	cfg.Capacity = orDefault(cfg.Capacity, DefaultCapacity)
	cfg.WatcherBuffer = orDefault(cfg.WatcherBuffer, DefaultWatcherBuffer)
	cfg.BookmarkInterval = orDefault(cfg.BookmarkInterval, DefaultBookmarkInterval)
	cfg.WaitTimeout = orDefault(cfg.WaitTimeout, DefaultWaitTimeout)
	cfg.RetryInterval = orDefault(cfg.RetryInterval, DefaultRetryInterval)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{
		under:    under,
		cfg:      cfg,
		log:      log.With("prefix", cfg.Prefix),
		stopped:  make(chan struct{}),
		items:    map[string]runtime.Object{},
		events:   newRing(cfg.Capacity),
		changed:  make(chan struct{}),
		watchers: map[int64]*cacheWatcher{},
	}
	c.progress, _ = under.(progressRequester)
	ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Add(2)
	go c.reflect(ctx)
	go c.sendBookmarks(ctx)
	return c, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Stop ends the cache's goroutines and terminates its watchers. It waits
// for the goroutines the cache started, not for watchers' consumers.
func (c *Cache) Stop() {
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, w := range c.watchers {
		c.terminateLocked(w)
	}
}

// reflect keeps the cache in sync: List, then Watch from the list's
// revision, and again whenever the watch ends.
func (c *Cache) reflect(ctx context.Context) {
	defer c.wg.Done()
	defer close(c.stopped)
	for ctx.Err() == nil {
		listed, err := c.listAndWatch(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("Watch cache lost its watch, listing again", "err", err)
		if listed {
			continue
		}
		t := time.NewTimer(c.cfg.RetryInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// listAndWatch lists, replaces the cache's content and follows the watch
// until it fails. listed reports whether the List succeeded.
func (c *Cache) listAndWatch(ctx context.Context) (listed bool, err error) {
	res, err := c.under.List(ctx, c.cfg.Prefix, storage.ListOptions{Recursive: true})
	if err != nil {
		return false, err
	}
	items := make(map[string]runtime.Object, len(res.Items))
	for _, obj := range res.Items {
		key, err := c.cfg.KeyFunc(obj)
		if err != nil {
			return false, fmt.Errorf("key of listed object: %w", err)
		}
		items[key] = obj
	}
	c.replace(items, res.ResourceVersion)
	c.log.Debug("Watch cache listed", "items", len(items), "resourceVersion", res.ResourceVersion)

	w, err := c.under.Watch(ctx, c.cfg.Prefix, storage.WatchOptions{
		ResourceVersion: strconv.FormatInt(res.ResourceVersion, 10),
		Recursive:       true,
		AllowBookmarks:  true,
	})
	if err != nil {
		return true, err
	}
	defer w.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return true, errors.New("watch closed")
			}
			if err := c.handle(ev); err != nil {
				return true, err
			}
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

// replace installs a fresh list at rev. Watchers are terminated: they may
// have missed events the cache never saw.
func (c *Cache) replace(items map[string]runtime.Object, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = items
	c.rev, c.horizon = rev, rev
	c.events.reset()
	for _, w := range c.watchers {
		c.terminateLocked(w)
	}
	c.ready = true
	c.notifyLocked()
}

func (c *Cache) handle(ev watch.Event) error {
	if ev.Type == watch.Error {
		if st, ok := ev.Object.(*metav1.Status); ok {
			return fmt.Errorf("watch error: %s", st.Message)
		}
		return fmt.Errorf("watch error: %v", ev.Object)
	}
	m, err := meta.Accessor(ev.Object)
	if err != nil {
		return fmt.Errorf("%s event: %w", ev.Type, err)
	}
	rev, err := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	if err != nil {
		return fmt.Errorf("%s event: bad resourceVersion %q", ev.Type, m.GetResourceVersion())
	}
	if ev.Type == watch.Bookmark {
		c.mu.Lock()
		if rev > c.rev {
			c.rev = rev
			c.notifyLocked()
		}
		c.mu.Unlock()
		return nil
	}
	key, err := c.cfg.KeyFunc(ev.Object)
	if err != nil {
		return fmt.Errorf("%s event: %w", ev.Type, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	e := &event{typ: ev.Type, key: key, obj: ev.Object, rev: rev}
	switch ev.Type {
	case watch.Added, watch.Modified:
		if ev.Type == watch.Modified {
			e.prev = c.items[key]
		}
		c.items[key] = ev.Object
	case watch.Deleted:
		delete(c.items, key)
	default:
		return fmt.Errorf("unexpected %s event", ev.Type)
	}
	if old := c.events.push(e); old != nil {
		c.horizon = old.rev
	}
	if rev > c.rev {
		c.rev = rev
	}
	for _, w := range c.watchers {
		if !w.wants(key) {
			continue
		}
		select {
		case w.input <- e:
		default:
			c.log.Debug("Terminating a slow watcher", "key", key, "resourceVersion", rev)
			c.terminateLocked(w)
		}
	}
	c.notifyLocked()
	return nil
}

// sendBookmarks offers each watcher that allows bookmarks one bookmark at
// the cache's revision every BookmarkInterval.
func (c *Cache) sendBookmarks(ctx context.Context) {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.BookmarkInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		c.mu.Lock()
		e := &event{typ: watch.Bookmark, rev: c.rev}
		for _, w := range c.watchers {
			if w.bookmarks {
				select {
				case w.input <- e:
				default: // a full watcher skips a bookmark; events will follow
				}
			}
		}
		c.mu.Unlock()
	}
}

func (c *Cache) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// terminateLocked removes w; its goroutine delivers what is buffered and
// closes the result channel.
func (c *Cache) terminateLocked(w *cacheWatcher) {
	if c.watchers[w.id] == w {
		delete(c.watchers, w.id)
		close(w.input)
	}
}

// waitFor waits until the cache is ready and at revision rev or later. It
// returns errWaitTimeout after Config.WaitTimeout.
func (c *Cache) waitFor(ctx context.Context, rev int64) error {
	timer := time.NewTimer(c.cfg.WaitTimeout)
	defer timer.Stop()
	var tick <-chan time.Time
	for {
		c.mu.Lock()
		ok, changed, ready := c.ready && c.rev >= rev, c.changed, c.ready
		c.mu.Unlock()
		if ok {
			return nil
		}
		if ready && tick == nil && c.progress != nil {
			c.requestProgress(ctx)
			t := time.NewTicker(progressInterval)
			defer t.Stop()
			tick = t.C
		}
		select {
		case <-changed:
		case <-tick:
			c.requestProgress(ctx)
		case <-timer.C:
			return errWaitTimeout
		case <-ctx.Done():
			return ctx.Err()
		case <-c.stopped:
			return errors.New("watch cache stopped")
		}
	}
}

func (c *Cache) requestProgress(ctx context.Context) {
	if err := c.progress.RequestProgress(ctx); err != nil {
		// Only a hint: without progress the wait times out and the read
		// goes to the underlying store.
		c.log.Debug("Requesting watch progress failed", "err", err)
	}
}

// covers reports whether key lies under the cache's prefix.
func (c *Cache) covers(key string) bool {
	return strings.HasPrefix(key, c.cfg.Prefix)
}

// WaitReady waits until the cache has completed its first List, ctx ends
// or the cache stops.
func (c *Cache) WaitReady(ctx context.Context) error {
	for {
		c.mu.Lock()
		ready, changed := c.ready, c.changed
		c.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for watch cache %s: %w", c.cfg.Prefix, ctx.Err())
		case <-c.stopped:
			return fmt.Errorf("wait for watch cache %s: stopped", c.cfg.Prefix)
		}
	}
}
