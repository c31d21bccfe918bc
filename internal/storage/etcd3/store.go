package etcd3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/storage"
)

// Config configures a Store.
type Config struct {
	// Client talks to etcd. Required; the Store does not close it.
	Client *clientv3.Client
	// Codec encodes stored objects. Required.
	Codec storage.Codec
	// NewFunc returns an empty object of the resource, used for
	// bookmarks and for Get with IgnoreNotFound. Required.
	NewFunc func() runtime.Object
	// Logger receives debug and error logs. Nil discards them.
	Logger *slog.Logger
	// LocalRevision makes CurrentRevision a serializable read. Only for a
	// single-member etcd (the embedded one): there the member's applied
	// revision already includes every acknowledged write, and the read
	// skips the quorum round that queues behind in-flight writes.
	LocalRevision bool
}

// Store is a storage.Store backed by etcd.
type Store struct {
	client  *clientv3.Client
	codec   storage.Codec
	newFunc func() runtime.Object
	log     *slog.Logger
	// localRevision: see Config.LocalRevision.
	localRevision bool
}

var _ storage.Store = (*Store)(nil)

// New returns a Store that keeps objects in etcd through client, encoded
// with codec; newFunc returns an empty object of the resource.
func New(client *clientv3.Client, codec storage.Codec, newFunc func() runtime.Object) *Store {
	return NewWithConfig(Config{Client: client, Codec: codec, NewFunc: newFunc})
}

// NewWithConfig returns a Store configured by cfg. It panics if a required
// field is missing.
func NewWithConfig(cfg Config) *Store {
	if cfg.Client == nil || cfg.Codec == nil || cfg.NewFunc == nil {
		panic("etcd3: Config needs Client, Codec and NewFunc")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{client: cfg.Client, codec: cfg.Codec, newFunc: cfg.NewFunc, log: log, localRevision: cfg.LocalRevision}
}

// Create implements storage.Store. obj is not modified.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error) {
	out := obj.DeepCopyObject()
	data, err := s.encode(out)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data))).
		Commit()
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, mapErr(err))
	}
	if !resp.Succeeded {
		return nil, fmt.Errorf("create %s: %w", key, storage.ErrAlreadyExists)
	}
	if err := setRV(out, resp.Header.Revision); err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return out, nil
}

// Get implements storage.Store. A ResourceVersion other than "" and "0"
// must not be newer than etcd's revision (else ErrTooLarge); the latest
// object is returned.
func (s *Store) Get(ctx context.Context, key string, opts storage.GetOptions) (runtime.Object, error) {
	minRV, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, mapErr(err))
	}
	if minRV > resp.Header.Revision {
		return nil, fmt.Errorf("get %s at resource version %d (current %d): %w", key, minRV, resp.Header.Revision, storage.ErrTooLarge)
	}
	if len(resp.Kvs) == 0 {
		if opts.IgnoreNotFound {
			return s.newFunc(), nil
		}
		return nil, fmt.Errorf("get %s: %w", key, storage.ErrNotFound)
	}
	obj, err := s.decode(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return obj, nil
}

// GuaranteedUpdate implements storage.Store. The object tryUpdate returns
// is modified (its resourceVersion is set) and returned.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, pre *storage.Preconditions, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	st, err := s.currentState(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", key, err)
	}
	return s.update(ctx, key, pre, tryUpdate, st)
}

// GuaranteedUpdateFrom is GuaranteedUpdate starting from cached, an object
// the caller believes current (a watch cache's copy, with the revision it
// was stored at as its resourceVersion), which becomes the Store's. It
// saves the read and the decode of the stored object; a stale copy costs
// a retry: the write's revision check fails, and an error or a no-op from
// tryUpdate is confirmed against etcd before it is believed.
func (s *Store) GuaranteedUpdateFrom(ctx context.Context, key string, pre *storage.Preconditions, tryUpdate storage.UpdateFunc, cached runtime.Object) (runtime.Object, error) {
	m, err := meta.Accessor(cached)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", key, err)
	}
	rev, err := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	if err != nil || rev <= 0 {
		return s.GuaranteedUpdate(ctx, key, pre, tryUpdate)
	}
	return s.update(ctx, key, pre, tryUpdate, &updateState{obj: cached, rev: rev})
}

// updateState is the object an update starts from. data is nil when obj
// came from a cache; fresh means it was just read from etcd.
type updateState struct {
	obj   runtime.Object
	rev   int64
	data  []byte
	fresh bool
}

// currentState reads key from etcd; nil means there is no object.
func (s *Store) currentState(ctx context.Context, key string) (*updateState, error) {
	kv, err := s.getKV(ctx, key)
	if err != nil || kv == nil {
		return nil, err
	}
	return s.stateOf(kv)
}

func (s *Store) stateOf(kv *mvccpb.KeyValue) (*updateState, error) {
	if kv == nil {
		return nil, nil
	}
	obj, err := s.decode(kv.Value, kv.ModRevision)
	if err != nil {
		return nil, err
	}
	return &updateState{obj: obj, rev: kv.ModRevision, data: kv.Value, fresh: true}, nil
}

// refresh replaces a cached state by etcd's; same reports that the cached
// one was current after all.
func (s *Store) refresh(ctx context.Context, key string, st *updateState) (next *updateState, same bool, err error) {
	kv, err := s.getKV(ctx, key)
	if err != nil {
		return nil, false, err
	}
	if kv != nil && kv.ModRevision == st.rev {
		st.fresh = true
		return st, true, nil
	}
	next, err = s.stateOf(kv)
	return next, false, err
}

func (s *Store) update(ctx context.Context, key string, pre *storage.Preconditions, tryUpdate storage.UpdateFunc, st *updateState) (runtime.Object, error) {
	for {
		if st == nil {
			return nil, fmt.Errorf("update %s: %w", key, storage.ErrNotFound)
		}
		next, err := s.tryOn(key, st, pre, tryUpdate)
		if err != nil {
			if st.fresh {
				return nil, err
			}
			// The cache may lag: a conflict or a veto must hold on the
			// current object, not on a stale copy.
			fresh, same, rerr := s.refresh(ctx, key, st)
			if rerr != nil {
				return nil, fmt.Errorf("update %s: %w", key, rerr)
			}
			if same {
				return nil, err
			}
			st = fresh
			continue
		}
		if next == st.obj {
			if st.fresh {
				return st.obj, nil
			}
			fresh, same, err := s.refresh(ctx, key, st)
			if err != nil {
				return nil, fmt.Errorf("update %s: %w", key, err)
			}
			if same {
				return st.obj, nil
			}
			st = fresh
			continue
		}
		data, err := s.encode(next)
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		if st.data == nil {
			if st.data, err = s.encode(st.obj); err != nil {
				return nil, fmt.Errorf("update %s: %w", key, err)
			}
			if err := setRV(st.obj, st.rev); err != nil {
				return nil, fmt.Errorf("update %s: %w", key, err)
			}
		}
		if bytes.Equal(data, st.data) {
			if st.fresh {
				return st.obj, nil
			}
			fresh, same, err := s.refresh(ctx, key, st)
			if err != nil {
				return nil, fmt.Errorf("update %s: %w", key, err)
			}
			if same {
				return st.obj, nil
			}
			st = fresh
			continue
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", st.rev)).
			Then(clientv3.OpPut(key, string(data))).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, mapErr(err))
		}
		if resp.Succeeded {
			if err := setRV(next, resp.Header.Revision); err != nil {
				return nil, fmt.Errorf("update %s: %w", key, err)
			}
			return next, nil
		}
		if st.fresh {
			s.log.Debug("Retrying update after a race", "key", key)
		}
		if st, err = s.stateOf(firstKV(resp.Responses[0].GetResponseRange().GetKvs())); err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
	}
}

// tryOn checks the preconditions on st and runs tryUpdate.
func (s *Store) tryOn(key string, st *updateState, pre *storage.Preconditions, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	if err := checkPreconditions(pre, st.obj); err != nil {
		return nil, fmt.Errorf("update %s: %w", key, err)
	}
	return tryUpdate(st.obj)
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string, pre *storage.Preconditions, validate storage.ValidateDeleteFunc) (runtime.Object, error) {
	kv, err := s.getKV(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("delete %s: %w", key, err)
	}
	for {
		if kv == nil {
			return nil, fmt.Errorf("delete %s: %w", key, storage.ErrNotFound)
		}
		cur, err := s.decode(kv.Value, kv.ModRevision)
		if err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
		if err := checkPreconditions(pre, cur); err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
		if validate != nil {
			if err := validate(cur); err != nil {
				return nil, err
			}
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, mapErr(err))
		}
		if resp.Succeeded {
			if err := setRV(cur, resp.Header.Revision); err != nil {
				return nil, fmt.Errorf("delete %s: %w", key, err)
			}
			return cur, nil
		}
		s.log.Debug("Retrying delete after a race", "key", key)
		kv = firstKV(resp.Responses[0].GetResponseRange().GetKvs())
	}
}

// CurrentRevision implements storage.Store with a linearizable read.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	opts := []clientv3.OpOption{clientv3.WithCountOnly()}
	if s.localRevision {
		opts = append(opts, clientv3.WithSerializable())
	}
	resp, err := s.client.Get(ctx, "/", opts...)
	if err != nil {
		return 0, fmt.Errorf("read current revision: %w", mapErr(err))
	}
	return resp.Header.Revision, nil
}

func (s *Store) getKV(ctx context.Context, key string) (*mvccpb.KeyValue, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, mapErr(err)
	}
	return firstKV(resp.Kvs), nil
}

func firstKV(kvs []*mvccpb.KeyValue) *mvccpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	return kvs[0]
}

// encode clears obj's resourceVersion and encodes it.
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion("")
	return s.codec.Encode(obj)
}

// decode decodes data and sets the object's resourceVersion to rev.
func (s *Store) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, err := s.codec.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := setRV(obj, rev); err != nil {
		return nil, err
	}
	return obj, nil
}

func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}

// parseRV parses a resourceVersion; "" and "0" give 0.
func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid resource version %q", rv)
	}
	return n, nil
}

func checkPreconditions(pre *storage.Preconditions, cur runtime.Object) error {
	if pre == nil {
		return nil
	}
	m, err := meta.Accessor(cur)
	if err != nil {
		return err
	}
	if pre.UID != nil && *pre.UID != m.GetUID() {
		return fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v: %w", *pre.UID, m.GetUID(), storage.ErrConflict)
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != m.GetResourceVersion() {
		return fmt.Errorf("precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v: %w", *pre.ResourceVersion, m.GetResourceVersion(), storage.ErrConflict)
	}
	return nil
}

// mapErr turns etcd revision errors into storage sentinels.
func mapErr(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %v", storage.ErrCompacted, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%w: %v", storage.ErrTooLarge, err)
	}
	return err
}
