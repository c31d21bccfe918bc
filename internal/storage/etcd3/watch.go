package etcd3

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/skiff/skiff/internal/storage"
)

// watchBuffer is the capacity of a watcher's result channel.
const watchBuffer = 100

// Watch implements storage.Store. Compaction is reported as an ERROR event
// carrying a 410 Expired metav1.Status, after which the watch ends. With
// AllowBookmarks, etcd progress notifications become BOOKMARK events.
func (s *Store) Watch(ctx context.Context, key string, opts storage.WatchOptions) (watch.Interface, error) {
	if opts.Recursive && !strings.HasSuffix(key, "/") {
		key += "/"
	}
	rv, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", key, err)
	}
	initial := rv == 0
	if opts.SendInitialEvents != nil {
		initial = *opts.SendInitialEvents
	}
	var (
		initObjs []runtime.Object
		start    = rv
	)
	switch {
	case initial:
		// A recursive List without limit returns everything at one revision.
		res, err := s.List(ctx, key, storage.ListOptions{ResourceVersion: opts.ResourceVersion, Predicate: opts.Predicate, Recursive: opts.Recursive})
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", key, err)
		}
		initObjs, start = res.Items, res.ResourceVersion
	case rv == 0:
		if start, err = s.CurrentRevision(ctx); err != nil {
			return nil, fmt.Errorf("watch %s: %w", key, err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &watcher{
		s:        s,
		pred:     opts.Predicate,
		bookmark: opts.AllowBookmarks,
		result:   make(chan watch.Event, watchBuffer),
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	wopts := []clientv3.OpOption{clientv3.WithRev(start + 1), clientv3.WithPrevKV()}
	if opts.Recursive {
		wopts = append(wopts, clientv3.WithPrefix())
	}
	if opts.AllowBookmarks {
		wopts = append(wopts, clientv3.WithProgressNotify())
	}
	wch := s.client.Watch(clientv3.WithRequireLeader(wctx), key, wopts...)
	endBookmark := initial && opts.SendInitialEvents != nil && opts.AllowBookmarks
	go w.run(wctx, wch, initObjs, start, endBookmark)
	return w, nil
}

type watcher struct {
	s        *Store
	pred     storage.Predicate
	bookmark bool
	result   chan watch.Event
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
}

// Stop ends the watch and waits for its goroutine; ResultChan is closed.
func (w *watcher) Stop() {
	w.stopOnce.Do(func() {
		w.cancel()
		<-w.done
	})
}

func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

func (w *watcher) send(ctx context.Context, ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watcher) run(ctx context.Context, wch clientv3.WatchChan, initObjs []runtime.Object, rev int64, endBookmark bool) {
	defer close(w.done)
	defer close(w.result)
	defer w.cancel()
	for _, obj := range initObjs {
		if !w.send(ctx, watch.Event{Type: watch.Added, Object: obj}) {
			return
		}
	}
	if endBookmark {
		bm, err := w.bookmarkObject(rev, true)
		if err != nil {
			w.sendErr(ctx, apierrors.NewInternalError(err))
			return
		}
		if !w.send(ctx, watch.Event{Type: watch.Bookmark, Object: bm}) {
			return
		}
	}
	for wresp := range wch {
		if wresp.CompactRevision != 0 {
			w.sendErr(ctx, apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", rev, wresp.CompactRevision)))
			return
		}
		if err := wresp.Err(); err != nil {
			w.sendErr(ctx, apierrors.NewInternalError(err))
			return
		}
		if wresp.IsProgressNotify() {
			if !w.bookmark || wresp.Header.Revision <= rev {
				continue
			}
			rev = wresp.Header.Revision
			bm, err := w.bookmarkObject(rev, false)
			if err != nil {
				w.sendErr(ctx, apierrors.NewInternalError(err))
				return
			}
			if !w.send(ctx, watch.Event{Type: watch.Bookmark, Object: bm}) {
				return
			}
			continue
		}
		for _, e := range wresp.Events {
			rev = e.Kv.ModRevision
			ev, ok, err := w.translate(e)
			if err != nil {
				w.sendErr(ctx, apierrors.NewInternalError(err))
				return
			}
			if ok && !w.send(ctx, ev) {
				return
			}
		}
	}
}

func (w *watcher) sendErr(ctx context.Context, err *apierrors.StatusError) {
	st := err.Status()
	w.send(ctx, watch.Event{Type: watch.Error, Object: &st})
}

// translate turns an etcd event into a watch event, applying the
// predicate; ok is false when the event is filtered out.
func (w *watcher) translate(e *clientv3.Event) (ev watch.Event, ok bool, err error) {
	var cur, prev runtime.Object
	if e.Type != clientv3.EventTypeDelete {
		if cur, err = w.s.decode(e.Kv.Value, e.Kv.ModRevision); err != nil {
			return ev, false, fmt.Errorf("key %s: %w", e.Kv.Key, err)
		}
	}
	if e.PrevKv != nil && (e.Type == clientv3.EventTypeDelete || !w.pred.Empty()) {
		// The previous state carries the revision of this event, as
		// upstream sends it.
		if prev, err = w.s.decode(e.PrevKv.Value, e.Kv.ModRevision); err != nil {
			return ev, false, fmt.Errorf("key %s: %w", e.Kv.Key, err)
		}
	}
	switch {
	case e.Type == clientv3.EventTypeDelete:
		if prev == nil {
			return ev, false, fmt.Errorf("key %s: delete event without previous value", e.Kv.Key)
		}
		return transform(w.pred, watch.Deleted, prev, nil)
	case e.IsCreate():
		return transform(w.pred, watch.Added, cur, nil)
	default:
		return transform(w.pred, watch.Modified, cur, prev)
	}
}

// transform applies pred to an event of type typ about obj, whose previous
// state (for MODIFIED) is prev or nil if unknown. A modified object that
// starts or stops matching becomes ADDED or DELETED (carrying prev); ok is
// false when the watcher must not see the event.
func transform(pred storage.Predicate, typ watch.EventType, obj, prev runtime.Object) (ev watch.Event, ok bool, err error) {
	if pred.Empty() {
		return watch.Event{Type: typ, Object: obj}, true, nil
	}
	objOK, err := pred.Matches(obj)
	if err != nil {
		return ev, false, err
	}
	if typ != watch.Modified || prev == nil {
		return watch.Event{Type: typ, Object: obj}, objOK, nil
	}
	prevOK, err := pred.Matches(prev)
	if err != nil {
		return ev, false, err
	}
	switch {
	case objOK && prevOK:
		return watch.Event{Type: watch.Modified, Object: obj}, true, nil
	case objOK:
		return watch.Event{Type: watch.Added, Object: obj}, true, nil
	case prevOK:
		return watch.Event{Type: watch.Deleted, Object: prev}, true, nil
	}
	return ev, false, nil
}

func (w *watcher) bookmarkObject(rev int64, endOfInitial bool) (runtime.Object, error) {
	obj := w.s.newFunc()
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	if endOfInitial {
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return obj, nil
}

// RequestProgress asks etcd to report its current revision to this
// client's watches: each watch with AllowBookmarks that has delivered every
// event up to that revision soon sends a BOOKMARK at it. etcd ignores the
// request while some watch on the stream lags, so callers retry.
func (s *Store) RequestProgress(ctx context.Context) error {
	// Watches run on the gRPC stream keyed by the require-leader metadata;
	// the request must travel on that same stream.
	if err := s.client.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
		return fmt.Errorf("request watch progress: %w", err)
	}
	return nil
}
