package watchcache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/storage"
)

// Watch implements storage.Store from memory. A resourceVersion older than
// the event ring yields one ERROR event (410 Expired) and a closed watch;
// one the cache does not reach within Config.WaitTimeout fails with
// ErrTooLarge.
func (c *Cache) Watch(ctx context.Context, key string, opts storage.WatchOptions) (watch.Interface, error) {
	if opts.Recursive && !strings.HasSuffix(key, "/") {
		key += "/"
	}
	if !c.covers(key) {
		return c.under.Watch(ctx, key, opts)
	}
	var rv int64
	if opts.ResourceVersion != "" {
		n, err := strconv.ParseInt(opts.ResourceVersion, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("watch %s: invalid resource version %q", key, opts.ResourceVersion)
		}
		rv = n
	}
	initial := rv == 0
	if opts.SendInitialEvents != nil {
		initial = *opts.SendInitialEvents
	}
	var target int64
	if opts.ResourceVersion == "" {
		cur, err := c.under.CurrentRevision(ctx)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", key, err)
		}
		target = cur
	} else {
		target = rv
	}
	if err := c.waitFor(ctx, target); err != nil {
		switch {
		case errors.Is(err, errWaitTimeout) && opts.ResourceVersion == "":
			c.log.Debug("Delegating a watch the cache cannot serve consistently", "key", key)
			return c.under.Watch(ctx, key, opts)
		case errors.Is(err, errWaitTimeout):
			return nil, fmt.Errorf("watch %s at resource version %d: %w", key, target, storage.ErrTooLarge)
		}
		return nil, fmt.Errorf("watch %s: %w", key, err)
	}

	w := &cacheWatcher{
		c:         c,
		key:       key,
		recursive: opts.Recursive,
		pred:      opts.Predicate,
		bookmarks: opts.AllowBookmarks,
		input:     make(chan *event, c.cfg.WatcherBuffer),
		result:    make(chan watch.Event),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	var (
		objs    []runtime.Object
		backlog []*event
	)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("watch %s: watch cache stopped", key)
	}
	if !initial && rv > 0 && rv < c.horizon {
		// Older than the cache's window, e.g. a client that watched the
		// previous server process: etcd still has the history unless it was
		// compacted (then it answers 410), so the client resumes in order
		// instead of re-listing.
		c.mu.Unlock()
		c.log.Debug("Delegating a watch older than the cache", "key", key, "resourceVersion", rv)
		return c.under.Watch(ctx, key, opts)
	}
	start := c.rev
	switch {
	case initial:
		objs = c.snapshotLocked(key, opts.Recursive)
	case rv > 0:
		for _, e := range c.events.since(rv) {
			if w.wants(e.key) {
				backlog = append(backlog, e)
			}
		}
	}
	c.nextID++
	w.id = c.nextID
	c.watchers[w.id] = w
	c.mu.Unlock()

	endBookmark := initial && opts.SendInitialEvents != nil && opts.AllowBookmarks
	go w.run(ctx, objs, backlog, start, endBookmark)
	return w, nil
}

// cacheWatcher delivers the cache's events to one client. The cache sends
// into input without blocking, and closes input to terminate the watcher.
type cacheWatcher struct {
	c         *Cache
	id        int64
	key       string
	recursive bool
	pred      storage.Predicate
	bookmarks bool

	input    chan *event
	result   chan watch.Event
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// wants reports whether events at key concern w.
func (w *cacheWatcher) wants(key string) bool {
	if w.recursive {
		return strings.HasPrefix(key, w.key)
	}
	return key == w.key
}

// Stop ends the watch and waits until its goroutine has ended.
func (w *cacheWatcher) Stop() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
}

func (w *cacheWatcher) ResultChan() <-chan watch.Event { return w.result }

func (w *cacheWatcher) run(ctx context.Context, objs []runtime.Object, backlog []*event, start int64, endBookmark bool) {
	defer close(w.done)
	defer close(w.result)
	defer func() {
		w.c.mu.Lock()
		w.c.terminateLocked(w)
		w.c.mu.Unlock()
	}()
	for _, obj := range objs {
		ok, err := w.pred.Matches(obj)
		if err != nil {
			w.sendError(ctx, err)
			return
		}
		if ok && !w.send(ctx, watch.Event{Type: watch.Added, Object: obj}) {
			return
		}
	}
	last := start
	if endBookmark && !w.sendBookmark(ctx, start, true) {
		return
	}
	for _, e := range backlog {
		if !w.process(ctx, e, &last) {
			return
		}
	}
	for {
		select {
		case e, ok := <-w.input:
			if !ok {
				return
			}
			if !w.process(ctx, e, &last) {
				return
			}
		case <-w.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// process delivers e if the predicate lets it through; it reports false
// when the watch must end.
func (w *cacheWatcher) process(ctx context.Context, e *event, last *int64) bool {
	if e.typ == watch.Bookmark {
		if !w.bookmarks || e.rev < *last {
			return true
		}
		*last = e.rev
		return w.sendBookmark(ctx, e.rev, false)
	}
	*last = e.rev
	ev, ok, err := transform(w.pred, e)
	if err != nil {
		w.sendError(ctx, err)
		return false
	}
	if !ok {
		return true
	}
	return w.send(ctx, ev)
}

// transform applies pred to e and returns a copy of the event a watcher
// with that predicate sees; a modified object that starts or stops
// matching becomes ADDED or DELETED (the latter carrying the previous state
// at the event's revision), as upstream does.
func transform(pred storage.Predicate, e *event) (watch.Event, bool, error) {
	out := watch.Event{Type: e.typ, Object: e.obj}
	if !pred.Empty() {
		match, err := pred.Matches(e.obj)
		if err != nil {
			return out, false, err
		}
		prevMatch := false
		if e.typ == watch.Modified && e.prev != nil {
			if prevMatch, err = pred.Matches(e.prev); err != nil {
				return out, false, err
			}
		}
		switch {
		case e.typ != watch.Modified || e.prev == nil:
			if !match {
				return out, false, nil
			}
		case match && !prevMatch:
			out.Type = watch.Added
		case !match && prevMatch:
			prev := e.prev.DeepCopyObject()
			if err := setRV(prev, e.rev); err != nil {
				return out, false, err
			}
			return watch.Event{Type: watch.Deleted, Object: prev}, true, nil
		case !match:
			return out, false, nil
		}
	}
	// Event objects are shared by every watcher (see storage.Store.Watch).
	return out, true, nil
}

func (w *cacheWatcher) send(ctx context.Context, ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.stop:
		return false
	case <-ctx.Done():
		return false
	}
}

func (w *cacheWatcher) sendBookmark(ctx context.Context, rev int64, endOfInitial bool) bool {
	obj := w.c.cfg.NewFunc()
	if err := setRV(obj, rev); err != nil {
		w.sendError(ctx, err)
		return false
	}
	if endOfInitial {
		m, _ := meta.Accessor(obj) // setRV succeeded, so obj has metadata
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return w.send(ctx, watch.Event{Type: watch.Bookmark, Object: obj})
}

func (w *cacheWatcher) sendError(ctx context.Context, err error) {
	st := apierrors.NewInternalError(err).Status()
	w.send(ctx, watch.Event{Type: watch.Error, Object: &st})
}

func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}

// errWatcher is a watch that delivers one ERROR event and ends.
type errWatcher struct{ ch chan watch.Event }

func newErrWatcher(err *apierrors.StatusError) *errWatcher {
	st := err.Status()
	ch := make(chan watch.Event, 1)
	ch <- watch.Event{Type: watch.Error, Object: &st}
	close(ch)
	return &errWatcher{ch: ch}
}

func (w *errWatcher) Stop()                          {}
func (w *errWatcher) ResultChan() <-chan watch.Event { return w.ch }
