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
// becomes the caller's result: its resourceVersion is overwritten.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, pre *storage.Preconditions, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	kv, err := s.getKV(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", key, err)
	}
	for {
		if kv == nil {
			return nil, fmt.Errorf("update %s: %w", key, storage.ErrNotFound)
		}
		cur, err := s.decode(kv.Value, kv.ModRevision)
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		if err := checkPreconditions(pre, cur); err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		next, err := tryUpdate(cur)
		if err != nil {
			return nil, err
		}
		if next == cur {
			return cur, nil
		}
		data, err := s.encode(next)
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		if bytes.Equal(data, kv.Value) {
			return cur, nil
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
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
		s.log.Debug("Retrying update after a race", "key", key)
		kv = firstKV(resp.Responses[0].GetResponseRange().GetKvs())
	}
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
