package gc

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

var (
	cmGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	rsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
)

// fixture is a Controller over a fake metadata client, with monitors for
// ConfigMaps and ReplicaSets whose caches the test fills.
type fixture struct {
	t      *testing.T
	client *metadatafake.FakeMetadataClient
	ctl    *Controller
}

func obj(gvr schema.GroupVersionResource, kind, name string, uid types.UID, mutate ...func(*metav1.PartialObjectMetadata)) *metav1.PartialObjectMetadata {
	o := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: gvr.GroupVersion().String(), Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: uid, ResourceVersion: "1"},
	}
	for _, m := range mutate {
		m(o)
	}
	return o
}

func ownedBy(owner *metav1.PartialObjectMetadata, block bool) func(*metav1.PartialObjectMetadata) {
	return func(o *metav1.PartialObjectMetadata) {
		o.OwnerReferences = append(o.OwnerReferences, metav1.OwnerReference{
			APIVersion: owner.APIVersion, Kind: owner.Kind, Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(block),
		})
	}
}

func deleting(finalizers ...string) func(*metav1.PartialObjectMetadata) {
	return func(o *metav1.PartialObjectMetadata) {
		now := metav1.Now()
		o.DeletionTimestamp = &now
		o.Finalizers = finalizers
	}
}

func gvrOf(o *metav1.PartialObjectMetadata) schema.GroupVersionResource {
	if o.Kind == "ReplicaSet" {
		return rsGVR
	}
	return cmGVR
}

// newFixture stores live on the server and cached in the informer caches.
func newFixture(t *testing.T, live, cachedOnly []*metav1.PartialObjectMetadata) *fixture {
	t.Helper()
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	scheme.AddKnownTypeWithName(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, &metav1.PartialObjectMetadata{})
	scheme.AddKnownTypeWithName(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, &metav1.PartialObjectMetadata{})
	client := metadatafake.NewSimpleMetadataClient(scheme)
	for _, o := range live {
		if err := client.Tracker().Create(gvrOf(o), o.DeepCopy(), o.Namespace); err != nil {
			t.Fatal(err)
		}
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, meta.RESTScopeNamespace)
	ctl := New(Config{Metadata: client, Mapper: mapper})
	ctl.hasSynced = func() bool { return true }
	ctl.monitors.m = map[schema.GroupVersionResource]*monitor{}
	for _, gvr := range []schema.GroupVersionResource{cmGVR, rsGVR} {
		ctl.monitors.m[gvr] = ctl.monitors.newMonitor(gvr)
	}
	for _, o := range append(append([]*metav1.PartialObjectMetadata{}, live...), cachedOnly...) {
		if err := ctl.monitors.m[gvrOf(o)].informer.GetIndexer().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	client.ClearActions()
	return &fixture{t: t, client: client, ctl: ctl}
}

// writes returns the patches and deletes the sync made, as
// "verb resource/name body".
func (f *fixture) writes() []string {
	var out []string
	for _, a := range f.client.Actions() {
		switch a := a.(type) {
		case clienttesting.PatchAction:
			var body map[string]map[string]any
			_ = json.Unmarshal(a.GetPatch(), &body)
			md := body["metadata"]
			delete(md, "uid")
			delete(md, "resourceVersion")
			b, _ := json.Marshal(md)
			out = append(out, "patch "+a.GetResource().Resource+"/"+a.GetName()+" "+string(b))
		case clienttesting.DeleteAction:
			out = append(out, "delete "+a.GetResource().Resource+"/"+a.GetName()+" "+string(*a.GetDeleteOptions().PropagationPolicy))
		}
	}
	return out
}

func TestSync(t *testing.T) {
	rs := obj(rsGVR, "ReplicaSet", "rs", "rs-uid")
	rs2 := obj(rsGVR, "ReplicaSet", "rs2", "rs2-uid")
	ghost := obj(rsGVR, "ReplicaSet", "ghost", "ghost-uid")
	rsFG := obj(rsGVR, "ReplicaSet", "rs", "rs-uid", deleting(metav1.FinalizerDeleteDependents))
	rsOrphan := obj(rsGVR, "ReplicaSet", "rs", "rs-uid", deleting(metav1.FinalizerOrphanDependents, "other"))
	tests := []struct {
		name       string
		live       []*metav1.PartialObjectMetadata
		cachedOnly []*metav1.PartialObjectMetadata
		item       *metav1.PartialObjectMetadata
		want       []string
	}{{
		name: "owner alive",
		live: []*metav1.PartialObjectMetadata{rs, obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(rs, false))},
		item: obj(cmGVR, "ConfigMap", "cm", "cm-uid"),
	}, {
		name: "owner gone though still cached",
		live: []*metav1.PartialObjectMetadata{obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(rs, false))},
		// A stale cache must not save the dependent, nor condemn it.
		cachedOnly: []*metav1.PartialObjectMetadata{rs},
		item:       obj(cmGVR, "ConfigMap", "cm", "cm-uid"),
		want:       []string{"delete configmaps/cm Background"},
	}, {
		name: "owner replaced by another of the same name",
		live: []*metav1.PartialObjectMetadata{obj(rsGVR, "ReplicaSet", "rs", "new-uid"), obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(rs, false))},
		item: obj(cmGVR, "ConfigMap", "cm", "cm-uid"),
		want: []string{"delete configmaps/cm Background"},
	}, {
		name: "dependent with its own orphan finalizer keeps it",
		live: []*metav1.PartialObjectMetadata{obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(ghost, false),
			func(o *metav1.PartialObjectMetadata) { o.Finalizers = []string{metav1.FinalizerOrphanDependents} })},
		item: obj(cmGVR, "ConfigMap", "cm", "cm-uid"),
		want: []string{"delete configmaps/cm Orphan"},
	}, {
		name: "dangling reference dropped when another owner lives",
		live: []*metav1.PartialObjectMetadata{rs2, obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(ghost, false), ownedBy(rs2, false))},
		item: obj(cmGVR, "ConfigMap", "cm", "cm-uid"),
		want: []string{`patch configmaps/cm {"ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":false,"kind":"ReplicaSet","name":"rs2","uid":"rs2-uid"}]}`},
	}, {
		name: "owner deleting in the foreground",
		live: []*metav1.PartialObjectMetadata{rsFG, obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(rs, true))},
		item: obj(cmGVR, "ConfigMap", "cm", "cm-uid"),
		want: []string{"delete configmaps/cm Background"},
	}, {
		name: "owner deleting in the foreground, dependent with dependents",
		live: []*metav1.PartialObjectMetadata{rsFG, obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(rs, true)),
			obj(cmGVR, "ConfigMap", "grandchild", "gc-uid", ownedBy(obj(cmGVR, "ConfigMap", "cm", "cm-uid"), true))},
		item: obj(cmGVR, "ConfigMap", "cm", "cm-uid"),
		want: []string{"delete configmaps/cm Foreground"},
	}, {
		name: "foreground owner waits for a blocking dependent",
		live: []*metav1.PartialObjectMetadata{rsFG, obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(rs, true), deleting("hold"))},
		item: rs,
	}, {
		name: "foreground owner done when only non-blocking dependents remain",
		live: []*metav1.PartialObjectMetadata{rsFG, obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(rs, false))},
		item: rs,
		want: []string{`patch replicasets/rs {"finalizers":[]}`},
	}, {
		name: "orphan owner releases its dependents, then its finalizer",
		live: []*metav1.PartialObjectMetadata{rsOrphan, obj(cmGVR, "ConfigMap", "cm", "cm-uid", ownedBy(rs, true), ownedBy(rs2, false)), rs2},
		item: rs,
		want: []string{
			`patch configmaps/cm {"ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":false,"kind":"ReplicaSet","name":"rs2","uid":"rs2-uid"}]}`,
			`patch replicasets/rs {"finalizers":["other"]}`,
		},
	}, {
		name: "item replaced",
		live: []*metav1.PartialObjectMetadata{obj(cmGVR, "ConfigMap", "cm", "other-uid", ownedBy(ghost, false))},
		item: obj(cmGVR, "ConfigMap", "cm", "cm-uid"),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.live, tc.cachedOnly)
			if err := f.ctl.sync(context.Background(), itemOf(gvrOf(tc.item), tc.item).key()); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if diff := cmp.Diff(tc.want, f.writes()); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeyRoundTrip(t *testing.T) {
	it := item{gvr: rsGVR, namespace: "ns", name: "odd|name", uid: "u"}
	got, err := parseKey(it.key())
	if err != nil || got != it {
		t.Errorf("parseKey(key) = %v, %v; want %v", got, err, it)
	}
}
