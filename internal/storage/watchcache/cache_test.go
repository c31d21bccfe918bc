package watchcache_test

import (
	"testing"
	"time"

	"github.com/skiff/skiff/internal/storage"
	"github.com/skiff/skiff/internal/storage/etcd3"
	"github.com/skiff/skiff/internal/storage/storagetest"
	"github.com/skiff/skiff/internal/storage/watchcache"
)

type compactingStore struct {
	storage.Store
	storagetest.EtcdCompactor
}

// newCache returns a cache over a fresh embedded etcd, and that store.
func newCache(t *testing.T, cfg watchcache.Config) (*watchcache.Cache, *etcd3.Store, storagetest.EtcdCompactor) {
	t.Helper()
	cli := storagetest.StartEtcd(t)
	under := etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap)
	if cfg.Prefix == "" {
		cfg.Prefix = storagetest.Prefix
	}
	cfg.NewFunc = storagetest.NewConfigMap
	c, err := watchcache.New(t.Context(), under, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c, under, storagetest.EtcdCompactor{Client: cli}
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		// A small ring, so that the suite's expiry case overflows it.
		c, _, compactor := newCache(t, watchcache.Config{Capacity: 16, WaitTimeout: time.Second})
		return compactingStore{Store: c, EtcdCompactor: compactor}
	})
}
