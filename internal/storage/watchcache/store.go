package watchcache

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/storage"
)

// Create passes through to the underlying store.
func (c *Cache) Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error) {
	return c.noteWrite(c.under.Create(ctx, key, obj))
}

// noteWrite records the revision of a write made through the cache.
func (c *Cache) noteWrite(obj runtime.Object, err error) (runtime.Object, error) {
	if err != nil || obj == nil {
		return obj, err
	}
	if m, merr := meta.Accessor(obj); merr == nil {
		if rev, perr := strconv.ParseInt(m.GetResourceVersion(), 10, 64); perr == nil {
			c.mu.Lock()
			c.lastWrite = max(c.lastWrite, rev)
			c.mu.Unlock()
		}
	}
	return obj, err
}

// LastWriteRevision returns the revision of the newest write made through
// this cache (0 if none). A read at that resourceVersion sees every write
// this process made to the resource, without the wait for etcd's progress
// report that a consistent read takes while other resources are written:
// the cache reaches the revision with the write's own event.
func (c *Cache) LastWriteRevision() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastWrite
}

// cachedUpdater is implemented by underlying stores (etcd3.Store) that can
// start an update from an object the cache holds.
type cachedUpdater interface {
	GuaranteedUpdateFrom(ctx context.Context, key string, pre *storage.Preconditions, tryUpdate storage.UpdateFunc, cached runtime.Object) (runtime.Object, error)
}

// GuaranteedUpdate starts from the cached object when there is one, which
// saves the underlying store a read and a decode per write; the store
// checks the object's revision when it writes, so a lagging cache costs a
// retry, not a lost update. The store gets a copy: update functions must
// not modify what they are given, but a cache shared by every reader is
// not worth that risk, and a copy costs a fraction of a decode.
func (c *Cache) GuaranteedUpdate(ctx context.Context, key string, pre *storage.Preconditions, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	if u, ok := c.under.(cachedUpdater); ok && c.covers(key) {
		c.mu.Lock()
		obj, found := c.items[key]
		c.mu.Unlock()
		if found {
			return c.noteWrite(u.GuaranteedUpdateFrom(ctx, key, pre, tryUpdate, obj.DeepCopyObject()))
		}
	}
	return c.noteWrite(c.under.GuaranteedUpdate(ctx, key, pre, tryUpdate))
}

// Delete passes through to the underlying store.
func (c *Cache) Delete(ctx context.Context, key string, pre *storage.Preconditions, validate storage.ValidateDeleteFunc) (runtime.Object, error) {
	return c.noteWrite(c.under.Delete(ctx, key, pre, validate))
}

// CurrentRevision passes through to the underlying store.
func (c *Cache) CurrentRevision(ctx context.Context) (int64, error) {
	return c.under.CurrentRevision(ctx)
}

// readMode says how a read may be served.
type readMode int

const (
	fromCache readMode = iota
	delegate
)

// prepareRead waits until the cache can serve a read at rv: "0" at once,
// "" once the cache has reached the datastore's current revision, a number
// once the cache has reached it (else ErrTooLarge). Reads the cache cannot
// serve in time are delegated.
func (c *Cache) prepareRead(ctx context.Context, op, key, rv string) (readMode, error) {
	switch rv {
	case "0":
		c.mu.Lock()
		ready := c.ready
		c.mu.Unlock()
		if !ready {
			return delegate, nil
		}
		return fromCache, nil
	case "":
		rev, err := c.under.CurrentRevision(ctx)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", op, key, err)
		}
		if err := c.waitFor(ctx, rev); err != nil {
			if ctx.Err() != nil {
				return 0, fmt.Errorf("%s %s: %w", op, key, ctx.Err())
			}
			c.log.Debug("Delegating a consistent read", "key", key, "err", err)
			return delegate, nil
		}
		return fromCache, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return delegate, nil // the underlying store reports the error
	}
	if err := c.waitFor(ctx, n); err != nil {
		if errors.Is(err, errWaitTimeout) {
			return 0, fmt.Errorf("%s %s at resource version %d: %w", op, key, n, storage.ErrTooLarge)
		}
		return 0, fmt.Errorf("%s %s: %w", op, key, err)
	}
	return fromCache, nil
}

// Get implements storage.Store.
func (c *Cache) Get(ctx context.Context, key string, opts storage.GetOptions) (runtime.Object, error) {
	if !c.covers(key) {
		return c.under.Get(ctx, key, opts)
	}
	mode, err := c.prepareRead(ctx, "get", key, opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if mode == delegate {
		return c.under.Get(ctx, key, opts)
	}
	c.mu.Lock()
	obj, ok := c.items[key]
	c.mu.Unlock()
	if !ok {
		if opts.IgnoreNotFound {
			return c.cfg.NewFunc(), nil
		}
		return nil, fmt.Errorf("get %s: %w", key, storage.ErrNotFound)
	}
	return obj.DeepCopyObject(), nil
}

// List implements storage.Store. Paged lists at a resourceVersion other
// than "0", continued and exact lists go to the underlying store.
func (c *Cache) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	if opts.Recursive && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if !c.covers(prefix) || opts.Continue != "" || opts.Match == storage.MatchExact ||
		(opts.Limit > 0 && opts.ResourceVersion != "0") {
		return c.under.List(ctx, prefix, opts)
	}
	mode, err := c.prepareRead(ctx, "list", prefix, opts.ResourceVersion)
	if err != nil {
		return storage.ListResult{}, err
	}
	if mode == delegate {
		return c.under.List(ctx, prefix, opts)
	}
	c.mu.Lock()
	objs := c.snapshotLocked(prefix, opts.Recursive)
	rev := c.rev
	c.mu.Unlock()
	res := storage.ListResult{Items: make([]runtime.Object, 0, len(objs)), ResourceVersion: rev}
	for _, obj := range objs {
		ok, err := opts.Predicate.Matches(obj)
		if err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		if ok {
			res.Items = append(res.Items, obj.DeepCopyObject())
		}
	}
	return res, nil
}

// snapshotLocked returns the cached objects under prefix (or at key prefix
// when not recursive), in key order. The objects are shared.
func (c *Cache) snapshotLocked(prefix string, recursive bool) []runtime.Object {
	if !recursive {
		if obj, ok := c.items[prefix]; ok {
			return []runtime.Object{obj}
		}
		return nil
	}
	keys := make([]string, 0, len(c.items))
	for k := range c.items {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	objs := make([]runtime.Object, len(keys))
	for i, k := range keys {
		objs[i] = c.items[k]
	}
	return objs
}
