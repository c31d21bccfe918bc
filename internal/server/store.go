package server

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/storage"
	"github.com/skiff/skiff/internal/storage/etcd3"
	"github.com/skiff/skiff/internal/storage/watchcache"
)

// caches keeps the watch caches so startup can wait for them and
// shutdown can stop them.
type caches struct {
	mu  sync.Mutex
	all []*watchcache.Cache
}

// newStore builds a resource's store: the watch cache in front of etcd,
// so that all of a resource's watchers share one etcd watch.
func (s *Server) newStore(ctx context.Context, prefix string, codec storage.Codec, newFunc func() runtime.Object) (storage.Store, error) {
	under := etcd3.NewWithConfig(etcd3.Config{Client: s.client, Codec: codec, NewFunc: newFunc, Logger: s.log, LocalRevision: s.etcd != nil})
	c, err := watchcache.New(ctx, under, watchcache.Config{Prefix: prefix, NewFunc: newFunc, Logger: s.log.With("prefix", prefix)})
	if err != nil {
		return nil, fmt.Errorf("watch cache for %s: %w", prefix, err)
	}
	s.caches.mu.Lock()
	s.caches.all = append(s.caches.all, c)
	s.caches.mu.Unlock()
	return c, nil
}

func (c *caches) waitReady(ctx context.Context) error {
	c.mu.Lock()
	all := append([]*watchcache.Cache(nil), c.all...)
	c.mu.Unlock()
	for _, wc := range all {
		if err := wc.WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (c *caches) stop() {
	c.mu.Lock()
	all := c.all
	c.all = nil
	c.mu.Unlock()
	for _, wc := range all {
		wc.Stop()
	}
}
