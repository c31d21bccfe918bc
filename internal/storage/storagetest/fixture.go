package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/etcd"
)

// Prefix is the key prefix under which the suite stores ConfigMaps.
const Prefix = "/registry/configmaps/"

// Key returns the key of ConfigMap ns/name.
func Key(ns, name string) string { return Prefix + ns + "/" + name }

// Codec encodes *corev1.ConfigMap as JSON. It implements storage.Codec.
type Codec struct{}

// Encode implements storage.Codec.
func (Codec) Encode(obj runtime.Object) ([]byte, error) {
	if _, ok := obj.(*corev1.ConfigMap); !ok {
		return nil, fmt.Errorf("encode %T: not a ConfigMap", obj)
	}
	return json.Marshal(obj)
}

// Decode implements storage.Codec.
func (Codec) Decode(data []byte) (runtime.Object, error) {
	cm := &corev1.ConfigMap{}
	if err := json.Unmarshal(data, cm); err != nil {
		return nil, err
	}
	return cm, nil
}

// NewConfigMap returns an empty ConfigMap, as a store's newFunc.
func NewConfigMap() runtime.Object { return &corev1.ConfigMap{} }

// ConfigMap returns a ConfigMap with the given labels and data {"v": v}.
func ConfigMap(ns, name, v string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, UID: types.UID("uid-" + ns + "-" + name)},
		Data:       map[string]string{"v": v},
	}
}

// StartEtcd starts an embedded etcd in a temporary directory and returns a
// client for it. Both are stopped when the test ends.
func StartEtcd(t testing.TB) *clientv3.Client {
	t.Helper()
	srv, err := etcd.Start(t.Context(), etcd.Config{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(srv.Stop)
	cli, err := srv.NewClient()
	if err != nil {
		t.Fatalf("connect to etcd: %v", err)
	}
	t.Cleanup(func() { _ = cli.Close() }) // the error says nothing useful at cleanup
	return cli
}

// Compactor is implemented by stores (or test wrappers around them) that
// can compact their history, dropping revisions older than rev.
type Compactor interface {
	Compact(ctx context.Context, rev int64) error
}

// EtcdCompactor compacts an etcd cluster; embed it with a store to make a
// Compactor.
type EtcdCompactor struct{ Client *clientv3.Client }

// Compact implements Compactor and waits until etcd has compacted.
func (c EtcdCompactor) Compact(ctx context.Context, rev int64) error {
	_, err := c.Client.Compact(ctx, rev, clientv3.WithCompactPhysical())
	return err
}
