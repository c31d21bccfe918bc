//go:build integration

package integration

import (
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/etcd"
	"github.com/skiff/skiff/internal/testutil"
)

// TestExternalDatastore runs the server on an etcd it did not start
// (--datastore-endpoint) and checks the layout upstream uses: objects
// under /registry/<resource>/<namespace>/<name>, built-in kinds stored as
// Kubernetes protobuf with apiVersion and kind, and the object's
// resourceVersion equal to the key's etcd modification revision.
func TestExternalDatastore(t *testing.T) {
	t.Parallel()
	ext, err := etcd.Start(t.Context(), etcd.Config{DataDir: t.TempDir(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("start the external etcd: %v", err)
	}
	t.Cleanup(ext.Stop)
	s := testutil.StartServerWith(t, func(c *config.Server) {
		c.DatastoreEndpoint = strings.Join(ext.Endpoints(), ",")
	})
	c := s.Client()
	ctx := ctxT(t)
	cm, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "outside"}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ext.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, "/registry/configmaps/default/outside")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("key /registry/configmaps/default/outside: %d entries, want 1", len(resp.Kvs))
	}
	kv := resp.Kvs[0]
	if got := strconv.FormatInt(kv.ModRevision, 10); got != cm.ResourceVersion {
		t.Errorf("etcd mod revision %s, object resourceVersion %s: want equal", got, cm.ResourceVersion)
	}
	stored := decodeStored(t, kv.Value)
	if stored.Kind != "ConfigMap" || stored.APIVersion != "v1" || stored.Data["k"] != "v" || stored.UID != cm.UID {
		t.Errorf("stored object %+v does not match the created one", stored)
	}
	if stored.ResourceVersion != "" {
		t.Errorf("stored object carries resourceVersion %q; it must come from the revision", stored.ResourceVersion)
	}
	// The namespaces the server bootstrapped are in the external etcd too.
	ns, err := cli.Get(ctx, "/registry/namespaces/kube-system")
	if err != nil || len(ns.Kvs) != 1 {
		t.Errorf("kube-system namespace not in the external etcd: %v", err)
	}
}
