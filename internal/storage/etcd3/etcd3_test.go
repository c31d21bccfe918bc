package etcd3_test

import (
	"testing"

	"github.com/skiff/skiff/internal/storage"
	"github.com/skiff/skiff/internal/storage/etcd3"
	"github.com/skiff/skiff/internal/storage/storagetest"
)

type compactingStore struct {
	storage.Store
	storagetest.EtcdCompactor
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		cli := storagetest.StartEtcd(t)
		return compactingStore{
			Store:         etcd3.New(cli, storagetest.Codec{}, storagetest.NewConfigMap),
			EtcdCompactor: storagetest.EtcdCompactor{Client: cli},
		}
	})
}
