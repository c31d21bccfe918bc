package serviceaccount

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

func ns(name string, phase corev1.NamespacePhase) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NamespaceStatus{Phase: phase}}
}

func sa(namespace, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

// fixture holds a controller whose informer caches are filled by hand.
type fixture struct {
	client *k8sfake.Clientset
	c      *Controller
}

func newFixture(t *testing.T, names []string, objs ...runtime.Object) *fixture {
	t.Helper()
	client := k8sfake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	nsInf, saInf := factory.Core().V1().Namespaces(), factory.Core().V1().ServiceAccounts()
	c, err := New(Config{Client: client, Namespaces: nsInf, ServiceAccounts: saInf, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		var idx cache.Indexer
		switch o.(type) {
		case *corev1.Namespace:
			idx = nsInf.Informer().GetIndexer()
		case *corev1.ServiceAccount:
			idx = saInf.Informer().GetIndexer()
		}
		if err := idx.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	client.ClearActions()
	return &fixture{client: client, c: c}
}

func (f *fixture) creates() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "create" {
			o := a.(k8stesting.CreateAction).GetObject().(*corev1.ServiceAccount)
			out = append(out, a.GetNamespace()+"/"+o.Name)
		}
	}
	return out
}

func TestSync(t *testing.T) {
	terminating := apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "default", fmt.Errorf("namespace is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
	for _, tc := range []struct {
		name        string
		names       []string
		objs        []runtime.Object
		createErr   error
		wantCreates []string
		wantErr     bool
	}{
		{name: "new namespace gets default", objs: []runtime.Object{ns("ns", corev1.NamespaceActive)}, wantCreates: []string{"ns/default"}},
		{name: "present", objs: []runtime.Object{ns("ns", corev1.NamespaceActive), sa("ns", "default")}},
		{name: "terminating namespace left alone", objs: []runtime.Object{ns("ns", corev1.NamespaceTerminating)}},
		{name: "namespace gone"},
		{name: "several names", names: []string{"default", "builder"}, objs: []runtime.Object{ns("ns", corev1.NamespaceActive), sa("ns", "default")}, wantCreates: []string{"ns/builder"}},
		{
			name: "created meanwhile by someone else", objs: []runtime.Object{ns("ns", corev1.NamespaceActive)},
			createErr: apierrors.NewAlreadyExists(schema.GroupResource{Resource: "serviceaccounts"}, "default"), wantCreates: []string{"ns/default"},
		},
		{
			name: "namespace began terminating", objs: []runtime.Object{ns("ns", corev1.NamespaceActive)},
			createErr: terminating, wantCreates: []string{"ns/default"},
		},
		{
			name: "other errors are retried", objs: []runtime.Object{ns("ns", corev1.NamespaceActive)},
			createErr: apierrors.NewServiceUnavailable("etcd down"), wantCreates: []string{"ns/default"}, wantErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.names, tc.objs...)
			if tc.createErr != nil {
				f.client.PrependReactor("create", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tc.createErr
				})
			}
			err := f.c.sync(context.Background(), "ns")
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantCreates, f.creates()); diff != "" {
				t.Errorf("creates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeletedServiceAccountRequeuesNamespace(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  any
		want int
	}{
		{"default", sa("ns", "default"), 1},
		{"tombstone", cache.DeletedFinalStateUnknown{Key: "ns/default", Obj: sa("ns", "default")}, 1},
		{"not ours", sa("ns", "robot"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.c.deleteServiceAccount(tc.obj)
			if got := f.c.runner.Len(); got != tc.want {
				t.Errorf("queued %d keys, want %d", got, tc.want)
			}
		})
	}
}
