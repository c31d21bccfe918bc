//go:build integration

package integration

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
)

// protoMagic starts a value stored as Kubernetes protobuf.
var protoMagic = []byte("k8s\x00")

// legacyConfigMap is a ConfigMap as servers before protobuf storage wrote
// it: JSON with apiVersion and kind, no resourceVersion.
func legacyConfigMap(name, value string) string {
	return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `","namespace":"default",` +
		`"uid":"0c6e6c34-8d0f-4b7e-a1d8-` + name + `","creationTimestamp":"2026-11-22T08:00:00Z","labels":{"format":"json"}},` +
		`"data":{"k":"` + value + `"},"binaryData":{"bin":"AAH/"}}`
}

// decodeStored decodes a ConfigMap value stored as protobuf.
func decodeStored(t *testing.T, value []byte) *corev1.ConfigMap {
	t.Helper()
	if !bytes.HasPrefix(value, protoMagic) {
		t.Fatalf("stored value is not Kubernetes protobuf: %q", value[:min(len(value), 40)])
	}
	obj, _, err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Decode(value, nil, &corev1.ConfigMap{})
	if err != nil {
		t.Fatalf("decode stored protobuf: %v", err)
	}
	return obj.(*corev1.ConfigMap)
}

// TestDatastoreReadsJSONWritesProtobuf: objects a JSON-storing server left
// in etcd, found at startup or put while the server runs, are read,
// listed and watched like any other, and stored as protobuf once written.
func TestDatastoreReadsJSONWritesProtobuf(t *testing.T) {
	t.Parallel()
	s, c := startAPI(t)
	ctx := ctxT(t)
	if _, err := etcdClient(t, s).Put(ctx, "/registry/configmaps/default/old", legacyConfigMap("old", "1")); err != nil {
		t.Fatal(err)
	}
	// The watch cache lists the JSON value when the server starts.
	restart(t, s, c)
	c = s.Client()
	cli := etcdClient(t, s)

	list, err := c.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{LabelSelector: "format=json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "old" || list.Items[0].Data["k"] != "1" ||
		!bytes.Equal(list.Items[0].BinaryData["bin"], []byte{0, 1, 255}) {
		t.Fatalf("list after restart = %+v, want the JSON-stored ConfigMap old", list.Items)
	}

	w, err := c.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{LabelSelector: "format=json", ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	put, err := cli.Put(ctx, "/registry/configmaps/default/new", legacyConfigMap("new", "a"))
	if err != nil {
		t.Fatal(err)
	}
	putRV := strconv.FormatInt(put.Header.Revision, 10)
	ev := nextEvent(t, w)
	if cm, ok := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Added || !ok || cm.Name != "new" || cm.Data["k"] != "a" || cm.ResourceVersion != putRV {
		t.Fatalf("watch event %s %+v, want ADDED new with data a at resourceVersion %s", ev.Type, ev.Object, putRV)
	}

	for _, rv := range []string{"", "0"} {
		got, err := c.CoreV1().ConfigMaps("default").Get(ctx, "new", metav1.GetOptions{ResourceVersion: rv})
		if err != nil {
			t.Fatalf("get new at resourceVersion %q: %v", rv, err)
		}
		if got.Data["k"] != "a" || got.ResourceVersion != putRV || got.Labels["format"] != "json" {
			t.Errorf("get new at resourceVersion %q = %+v", rv, got)
		}
	}

	for _, name := range []string{"old", "new"} {
		cm, err := c.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["k"] = "updated"
		updated, err := c.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			t.Fatalf("update %s: %v", name, err)
		}
		resp, err := cli.Get(ctx, "/registry/configmaps/default/"+name)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("etcd get %s: %v", name, err)
		}
		stored := decodeStored(t, resp.Kvs[0].Value)
		if stored.Data["k"] != "updated" || stored.UID != cm.UID || !bytes.Equal(stored.BinaryData["bin"], []byte{0, 1, 255}) ||
			stored.Labels["format"] != "json" || !stored.CreationTimestamp.Equal(&cm.CreationTimestamp) {
			t.Errorf("%s stored after the update = %+v, want %+v", name, stored, updated)
		}
		if stored.Kind != "ConfigMap" || stored.APIVersion != "v1" || stored.ResourceVersion != "" {
			t.Errorf("%s stored with kind %q, apiVersion %q, resourceVersion %q; want ConfigMap, v1 and none",
				name, stored.Kind, stored.APIVersion, stored.ResourceVersion)
		}
		if got := strconv.FormatInt(resp.Kvs[0].ModRevision, 10); got != updated.ResourceVersion {
			t.Errorf("%s: etcd mod revision %s, object resourceVersion %s", name, got, updated.ResourceVersion)
		}
	}
	ev = nextEvent(t, w)
	if cm, ok := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Modified || !ok || cm.Name != "old" || cm.Data["k"] != "updated" {
		t.Fatalf("watch event %s %+v, want MODIFIED old", ev.Type, ev.Object)
	}
}

func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("no watch event in time")
	}
	return watch.Event{}
}
