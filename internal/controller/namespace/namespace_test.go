package namespace

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/controller"
)

func TestEnqueueOnlyDeletingNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name string
		ns   *corev1.Namespace
		want int
	}{
		{"active", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, 0},
		{"deleting", deletingNS("d", corev1.NamespaceTerminating, "kubernetes"), 1},
		{"not a namespace", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := k8sfake.NewClientset()
			c, err := New(Config{Client: client, Namespaces: informers.NewSharedInformerFactory(client, 0).Core().V1().Namespaces(), DeletionDelay: -1})
			if err != nil {
				t.Fatal(err)
			}
			var obj any = tc.ns
			if tc.ns == nil {
				obj = &corev1.Pod{}
			}
			c.addNamespace(obj)
			c.updateNamespace(obj, obj)
			if got := c.runner.Len(); got != tc.want {
				t.Errorf("queued %d keys, want %d", got, tc.want)
			}
		})
	}
}

func TestSync(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ns      *corev1.Namespace
		content []*unstructured.Unstructured
		// wantRequeue is the fixed delay of a *controller.RequeueError.
		wantRequeue time.Duration
	}{
		{name: "gone from the cache"},
		{name: "emptied", ns: deletingNS("ns", corev1.NamespaceTerminating, "kubernetes")},
		{
			name:        "held by a finalizer: half of upstream's 15s estimate, plus one",
			ns:          deletingNS("ns", corev1.NamespaceTerminating, "kubernetes"),
			content:     []*unstructured.Unstructured{obj(configmaps, "ConfigMap", "ns", "held", "example.com/hold")},
			wantRequeue: 8 * time.Second,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := tc.ns
			if ns == nil {
				ns = deletingNS("other", corev1.NamespaceTerminating, "kubernetes")
			}
			f := newFixture(t, ns, nil, tc.content...)
			if tc.ns != nil {
				if err := f.indexer.Add(tc.ns); err != nil {
					t.Fatal(err)
				}
			}
			err := f.c.sync(context.Background(), "ns")
			var re *controller.RequeueError
			var got time.Duration
			if errors.As(err, &re) {
				got = re.After
			} else if err != nil {
				t.Fatalf("sync: %v", err)
			}
			if diff := cmp.Diff(tc.wantRequeue, got); diff != "" {
				t.Errorf("requeue after (-want +got):\n%s", diff)
			}
		})
	}
}
