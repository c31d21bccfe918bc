package rootcacert

import (
	"context"
	"errors"
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

const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func ns(name string, phase corev1.NamespacePhase) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NamespaceStatus{Phase: phase}}
}

func cm(namespace, name string, data map[string]string, annotations map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: annotations}, Data: data}
}

var published = cm("ns", ConfigMapName, map[string]string{"ca.crt": ca}, map[string]string{DescriptionAnnotation: Description})

type fixture struct {
	client *k8sfake.Clientset
	c      *Controller
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := k8sfake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	nsInf, cmInf := factory.Core().V1().Namespaces(), factory.Core().V1().ConfigMaps()
	c, err := New(Config{Client: client, Namespaces: nsInf, ConfigMaps: cmInf, RootCA: []byte(ca)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		var idx cache.Indexer
		switch o.(type) {
		case *corev1.Namespace:
			idx = nsInf.Informer().GetIndexer()
		case *corev1.ConfigMap:
			idx = cmInf.Informer().GetIndexer()
		}
		if err := idx.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	client.ClearActions()
	return &fixture{client: client, c: c}
}

// writes returns the ConfigMaps the controller created or updated.
func (f *fixture) writes() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "create" || a.GetVerb() == "update" {
			o := a.(interface{ GetObject() runtime.Object }).GetObject().(*corev1.ConfigMap)
			out = append(out, a.GetVerb()+" "+a.GetNamespace()+"/"+o.Name)
		}
	}
	return out
}

func TestSync(t *testing.T) {
	for _, tc := range []struct {
		name       string
		objs       []runtime.Object
		createErr  error
		wantWrites []string
		wantErr    bool
	}{
		{name: "published in a new namespace", objs: []runtime.Object{ns("ns", corev1.NamespaceActive)}, wantWrites: []string{"create ns/kube-root-ca.crt"}},
		{name: "up to date", objs: []runtime.Object{ns("ns", corev1.NamespaceActive), published}},
		{name: "data tampered with", objs: []runtime.Object{ns("ns", corev1.NamespaceActive),
			cm("ns", ConfigMapName, map[string]string{"ca.crt": "x", "extra": "y"}, map[string]string{DescriptionAnnotation: Description})},
			wantWrites: []string{"update ns/kube-root-ca.crt"}},
		{name: "annotation removed", objs: []runtime.Object{ns("ns", corev1.NamespaceActive),
			cm("ns", ConfigMapName, map[string]string{"ca.crt": ca}, nil)},
			wantWrites: []string{"update ns/kube-root-ca.crt"}},
		{name: "terminating namespace left alone", objs: []runtime.Object{ns("ns", corev1.NamespaceTerminating)}},
		{name: "namespace gone"},
		{name: "namespace removed meanwhile", objs: []runtime.Object{ns("ns", corev1.NamespaceActive)},
			createErr: apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "ns"), wantWrites: []string{"create ns/kube-root-ca.crt"}},
		{name: "other errors are retried", objs: []runtime.Object{ns("ns", corev1.NamespaceActive)},
			createErr: errors.New("boom"), wantWrites: []string{"create ns/kube-root-ca.crt"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.objs...)
			if tc.createErr != nil {
				f.client.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tc.createErr
				})
			}
			err := f.c.sync(context.Background(), "ns")
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantWrites, f.writes()); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if len(tc.wantWrites) > 0 && tc.createErr == nil {
				got, err := f.client.CoreV1().ConfigMaps("ns").Get(context.Background(), ConfigMapName, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(published.Data, got.Data); diff != "" {
					t.Errorf("data (-want +got):\n%s", diff)
				}
				if got.Annotations[DescriptionAnnotation] != Description {
					t.Errorf("description annotation = %q", got.Annotations[DescriptionAnnotation])
				}
			}
		})
	}
}

func TestConfigMapEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  any
		want int
	}{
		{"ours", published, 1},
		{"tombstone", cache.DeletedFinalStateUnknown{Key: "ns/kube-root-ca.crt", Obj: published}, 1},
		{"another configmap", cm("ns", "app", nil, nil), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.c.deleteConfigMap(tc.obj)
			if got := f.c.runner.Len(); got != tc.want {
				t.Errorf("queued %d keys, want %d", got, tc.want)
			}
		})
	}
}

func TestNewNeedsCA(t *testing.T) {
	client := k8sfake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	if _, err := New(Config{Client: client, Namespaces: f.Core().V1().Namespaces(), ConfigMaps: f.Core().V1().ConfigMaps()}); !errors.Is(err, ErrNoCA) {
		t.Errorf("err = %v, want ErrNoCA", err)
	}
}
