package namespace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

var (
	now       = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	allVerbs  = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	noCollect = metav1.Verbs{"create", "delete", "get", "list"}

	configmaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	pods       = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	widgets    = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	gadgets    = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "gadgets"}

	kinds = map[schema.GroupVersionResource]string{configmaps: "ConfigMap", pods: "Pod", widgets: "Widget", gadgets: "Gadget"}
)

// trackerList lists gvr in ns straight from the fake's tracker.
func trackerList(t k8stesting.ObjectTracker, gvr schema.GroupVersionResource, ns string) ([]unstructured.Unstructured, error) {
	l, err := t.List(gvr, gvr.GroupVersion().WithKind(kinds[gvr]), ns)
	if err != nil {
		return nil, err
	}
	return l.(*unstructured.UnstructuredList).Items, nil
}

// discoveryDoc is what the fake server advertises: core kinds, a custom
// resource with deletecollection and one without, and resources the
// deleter must skip (subresources, create-only, cluster-scoped).
func discoveryDoc() []*metav1.APIResourceList {
	return []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "configmaps", Namespaced: true, Kind: "ConfigMap", Verbs: allVerbs},
			{Name: "pods", Namespaced: true, Kind: "Pod", Verbs: allVerbs},
			{Name: "pods/status", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"get", "patch", "update"}},
			{Name: "bindings", Namespaced: true, Kind: "Binding", Verbs: metav1.Verbs{"create"}},
			{Name: "namespaces", Kind: "Namespace", Verbs: allVerbs},
		}},
		{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
			{Name: "widgets", Namespaced: true, Kind: "Widget", Verbs: allVerbs},
			{Name: "gadgets", Namespaced: true, Kind: "Gadget", Verbs: noCollect},
		}},
	}
}

func obj(gvr schema.GroupVersionResource, kind, ns, name string, finalizers ...string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(gvr.GroupVersion().String())
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetFinalizers(finalizers)
	return u
}

func deletingNS(name string, phase corev1.NamespacePhase, finalizers ...corev1.FinalizerName) *corev1.Namespace {
	ts := metav1.NewTime(now.Add(-time.Second))
	return &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: "uid-" + "name", DeletionTimestamp: &ts},
		Spec:       corev1.NamespaceSpec{Finalizers: finalizers},
		Status:     corev1.NamespaceStatus{Phase: phase},
	}
}

// fixture is a controller over fake clients that behave like the API
// server where the deleter depends on it: deleting an object with
// finalizers only marks it, and namespaces/finalize removes a terminating
// namespace once its finalizers are gone.
type fixture struct {
	// indexer is the namespace informer's cache, filled by hand.
	indexer cache.Indexer
	client  *k8sfake.Clientset
	dyn     *dynamicfake.FakeDynamicClient
	c       *Controller
}

func newFixture(t *testing.T, ns *corev1.Namespace, typed []runtime.Object, content ...*unstructured.Unstructured) *fixture {
	t.Helper()
	objs := append([]runtime.Object{ns}, typed...)
	client := k8sfake.NewClientset(objs...)
	client.Discovery().(*discoveryfake.FakeDiscovery).Resources = discoveryDoc()
	client.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "finalize" {
			return false, nil, nil
		}
		in := a.(k8stesting.CreateAction).GetObject().(*corev1.Namespace)
		gvr := corev1.SchemeGroupVersion.WithResource("namespaces")
		cur, err := client.Tracker().Get(gvr, "", in.Name)
		if err != nil {
			return true, nil, err
		}
		out := cur.(*corev1.Namespace).DeepCopy()
		out.Spec.Finalizers = in.Spec.Finalizers
		if out.DeletionTimestamp != nil && len(out.Spec.Finalizers) == 0 {
			return true, out, client.Tracker().Delete(gvr, "", in.Name)
		}
		return true, out, client.Tracker().Update(gvr, out, "")
	})

	listKinds := map[schema.GroupVersionResource]string{}
	for gvr, k := range kinds {
		listKinds[gvr] = k + "List"
	}
	var content0 []runtime.Object
	for _, o := range content {
		content0 = append(content0, o)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, content0...)
	remove := func(gvr schema.GroupVersionResource, ns, name string) error {
		cur, err := dyn.Tracker().Get(gvr, ns, name)
		if err != nil {
			return err
		}
		u := cur.(*unstructured.Unstructured).DeepCopy()
		if len(u.GetFinalizers()) == 0 {
			return dyn.Tracker().Delete(gvr, ns, name)
		}
		ts := metav1.NewTime(now)
		u.SetDeletionTimestamp(&ts)
		return dyn.Tracker().Update(gvr, u, ns)
	}
	dyn.PrependReactor("delete", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, remove(a.GetResource(), a.GetNamespace(), a.(k8stesting.DeleteAction).GetName())
	})
	dyn.PrependReactor("delete-collection", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetResource() == gadgets {
			return true, nil, apierrors.NewMethodNotSupported(gadgets.GroupResource(), "deletecollection")
		}
		items, err := trackerList(dyn.Tracker(), a.GetResource(), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, it := range items {
			if err := remove(a.GetResource(), it.GetNamespace(), it.GetName()); err != nil {
				return true, nil, err
			}
		}
		return true, nil, nil
	})

	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{
		Client: client, Dynamic: dyn, Namespaces: factory.Core().V1().Namespaces(),
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	client.ClearActions()
	return &fixture{indexer: factory.Core().V1().Namespaces().Informer().GetIndexer(), client: client, dyn: dyn, c: c}
}

// contentActions lists "verb resource" for the dynamic client's calls.
func (f *fixture) contentActions() []string {
	var out []string
	for _, a := range f.dyn.Actions() {
		out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// namespaceActions lists "verb subresource" for calls on namespaces.
func (f *fixture) namespaceActions() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if a.GetResource().Resource == "namespaces" {
			out = append(out, a.GetVerb()+" "+a.GetSubresource())
		}
	}
	return out
}

func (f *fixture) left() []string {
	var out []string
	for _, gvr := range []schema.GroupVersionResource{configmaps, pods, widgets, gadgets} {
		items, err := trackerList(f.dyn.Tracker(), gvr, "")
		if err != nil {
			panic(err)
		}
		for _, it := range items {
			out = append(out, gvr.Resource+"/"+it.GetName())
		}
	}
	return out
}

// conditions returns the namespace's conditions as "Type Status Reason: Message".
func (f *fixture) conditions(t *testing.T, name string) []string {
	t.Helper()
	ns, err := f.client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("namespaces"), "", name)
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range ns.(*corev1.Namespace).Status.Conditions {
		out = append(out, fmt.Sprintf("%s %s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	return out
}

var allClear = []string{
	"NamespaceDeletionDiscoveryFailure False ResourcesDiscovered: All resources successfully discovered",
	"NamespaceDeletionGroupVersionParsingFailure False ParsedGroupVersions: All legacy kube types successfully parsed",
	"NamespaceDeletionContentFailure False ContentDeleted: All content successfully deleted, may be waiting on finalization",
	"NamespaceContentRemaining False ContentRemoved: All content successfully removed",
	"NamespaceFinalizersRemaining False ContentRemoved: All content successfully removed",
}

func TestDelete(t *testing.T) {
	grace := int64(30)
	runningPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &grace}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	donePod := runningPod.DeepCopy()
	donePod.Name = "done"
	donePod.Status.Phase = corev1.PodSucceeded
	longAgo := deletingNS("ns", corev1.NamespaceTerminating, "kubernetes")
	longAgo.DeletionTimestamp = &metav1.Time{Time: now.Add(-time.Minute)}

	for _, tc := range []struct {
		name    string
		ns      *corev1.Namespace
		typed   []runtime.Object
		content []*unstructured.Unstructured
		// wantErr: "" none, "remaining N" a *remainingError, else a substring.
		wantErr        string
		wantContent    []string
		wantNamespace  []string
		wantLeft       []string
		wantGone       bool
		wantConditions []string
	}{
		{
			name:          "not being deleted",
			ns:            &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}},
			content:       []*unstructured.Unstructured{obj(configmaps, "ConfigMap", "ns", "a")},
			wantNamespace: []string{"get "},
			wantLeft:      []string{"configmaps/a"},
		},
		{
			name: "everything deleted, then finalized",
			ns:   deletingNS("ns", corev1.NamespaceTerminating, "kubernetes"),
			content: []*unstructured.Unstructured{
				obj(configmaps, "ConfigMap", "ns", "a"), obj(configmaps, "ConfigMap", "ns", "b"),
				obj(widgets, "Widget", "ns", "w"), obj(gadgets, "Gadget", "ns", "g"),
				obj(configmaps, "ConfigMap", "other", "keep"),
			},
			// deletecollection where discovery offers it, list + delete
			// for gadgets; a list of each afterwards to check.
			wantContent:    []string{"delete gadgets", "delete-collection configmaps", "delete-collection pods", "delete-collection widgets", "list configmaps", "list gadgets", "list pods", "list widgets"},
			wantNamespace:  []string{"get ", "update status", "create finalize"},
			wantLeft:       []string{"configmaps/keep"},
			wantGone:       true,
			wantConditions: nil,
		},
		{
			name:           "phase set to Terminating first",
			ns:             deletingNS("ns", corev1.NamespaceActive, "kubernetes"),
			wantContent:    []string{"delete-collection configmaps", "delete-collection pods", "delete-collection widgets", "list configmaps", "list gadgets", "list pods", "list widgets"},
			wantNamespace:  []string{"get ", "update status", "update status", "create finalize"},
			wantGone:       true,
			wantConditions: nil,
		},
		{
			name:           "other spec finalizers stay",
			ns:             deletingNS("ns", corev1.NamespaceTerminating, "kubernetes", "example.com/mine"),
			wantContent:    []string{"delete-collection configmaps", "delete-collection pods", "delete-collection widgets", "list configmaps", "list gadgets", "list pods", "list widgets"},
			wantNamespace:  []string{"get ", "update status", "create finalize"},
			wantConditions: allClear,
		},
		{
			name:          "already finalized",
			ns:            deletingNS("ns", corev1.NamespaceTerminating, "example.com/mine"),
			content:       []*unstructured.Unstructured{obj(configmaps, "ConfigMap", "ns", "a")},
			wantNamespace: []string{"get "},
			wantLeft:      []string{"configmaps/a"},
		},
		{
			name: "objects with finalizers keep the namespace",
			ns:   deletingNS("ns", corev1.NamespaceTerminating, "kubernetes"),
			content: []*unstructured.Unstructured{
				obj(configmaps, "ConfigMap", "ns", "held", "example.com/hold"),
				obj(widgets, "Widget", "ns", "w", "example.com/hold", "example.com/other"),
				obj(configmaps, "ConfigMap", "ns", "free"),
			},
			wantErr:       "remaining 15",
			wantContent:   []string{"delete-collection configmaps", "delete-collection pods", "delete-collection widgets", "list configmaps", "list gadgets", "list pods", "list widgets"},
			wantNamespace: []string{"get ", "update status"},
			wantLeft:      []string{"configmaps/held", "widgets/w"},
			wantConditions: []string{
				"NamespaceDeletionDiscoveryFailure False ResourcesDiscovered: All resources successfully discovered",
				"NamespaceDeletionGroupVersionParsingFailure False ParsedGroupVersions: All legacy kube types successfully parsed",
				"NamespaceDeletionContentFailure False ContentDeleted: All content successfully deleted, may be waiting on finalization",
				"NamespaceContentRemaining True SomeResourcesRemain: Some resources are remaining: configmaps. has 1 resource instances, widgets.example.com has 1 resource instances",
				"NamespaceFinalizersRemaining True SomeFinalizerRemain: Some finalizers are remaining: example.com/hold in 2 resource instances, example.com/other in 1 resource instances",
			},
		},
		{
			name:           "pods terminating gracefully",
			ns:             deletingNS("ns", corev1.NamespaceTerminating, "kubernetes"),
			typed:          []runtime.Object{runningPod, donePod.DeepCopy()},
			content:        []*unstructured.Unstructured{obj(pods, "Pod", "ns", "p")},
			wantErr:        "remaining 30",
			wantContent:    []string{"delete-collection configmaps", "delete-collection pods", "delete-collection widgets", "list configmaps", "list gadgets", "list pods", "list widgets"},
			wantNamespace:  []string{"get ", "update status"},
			wantConditions: allClear,
		},
		{
			name:          "grace period long past",
			ns:            longAgo,
			typed:         []runtime.Object{runningPod},
			content:       []*unstructured.Unstructured{obj(pods, "Pod", "ns", "p")},
			wantContent:   []string{"delete-collection configmaps", "delete-collection pods", "delete-collection widgets", "list configmaps", "list gadgets", "list pods", "list widgets"},
			wantNamespace: []string{"get ", "update status", "create finalize"},
			wantGone:      true,
		},
		{
			name:          "terminal pods need no time",
			ns:            deletingNS("ns", corev1.NamespaceTerminating, "kubernetes"),
			typed:         []runtime.Object{donePod},
			wantContent:   []string{"delete-collection configmaps", "delete-collection pods", "delete-collection widgets", "list configmaps", "list gadgets", "list pods", "list widgets"},
			wantNamespace: []string{"get ", "update status", "create finalize"},
			wantGone:      true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.ns, tc.typed, tc.content...)
			err := f.c.deleter.delete(context.Background(), "ns")
			checkErr(t, err, tc.wantErr)
			if diff := cmp.Diff(tc.wantContent, f.contentActions()); diff != "" {
				t.Errorf("content actions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantNamespace, f.namespaceActions()); diff != "" {
				t.Errorf("namespace actions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLeft, f.left()); diff != "" {
				t.Errorf("objects left (-want +got):\n%s", diff)
			}
			_, getErr := f.client.CoreV1().Namespaces().Get(context.Background(), "ns", metav1.GetOptions{})
			if gone := apierrors.IsNotFound(getErr); gone != tc.wantGone {
				t.Errorf("namespace gone = %v, want %v", gone, tc.wantGone)
			}
			if !tc.wantGone {
				if diff := cmp.Diff(tc.wantConditions, f.conditions(t, "ns")); diff != "" {
					t.Errorf("conditions (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	var rem *remainingError
	switch {
	case want == "" && err != nil:
		t.Fatalf("err = %v, want none", err)
	case want == "":
	case errors.As(err, &rem):
		if got := fmt.Sprintf("remaining %d", rem.estimate); got != want {
			t.Fatalf("err = %v (%s), want %s", err, got, want)
		}
	case err == nil:
		t.Fatalf("err = nil, want %s", want)
	default:
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %s", err, want)
		}
	}
}

func TestDeleteFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		discover func(context.Context) ([]*metav1.APIResourceList, error)
		react    k8stesting.ReactionFunc
		wantErr  string
		want     []string
	}{
		{
			name: "discovery fails for a group",
			discover: func(context.Context) ([]*metav1.APIResourceList, error) {
				return discoveryDoc()[:1], &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{
					{Group: "broken.example.com", Version: "v1"}: errors.New("the server is currently unable to handle the request"),
				}}
			},
			wantErr: "discover resources",
			want: []string{
				"NamespaceDeletionDiscoveryFailure True DiscoveryFailed: Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: broken.example.com/v1: the server is currently unable to handle the request",
				"NamespaceDeletionGroupVersionParsingFailure False ParsedGroupVersions: All legacy kube types successfully parsed",
				"NamespaceDeletionContentFailure False ContentDeleted: All content successfully deleted, may be waiting on finalization",
				"NamespaceContentRemaining False ContentRemoved: All content successfully removed",
				"NamespaceFinalizersRemaining False ContentRemoved: All content successfully removed",
			},
		},
		{
			name: "bad group version",
			discover: func(context.Context) ([]*metav1.APIResourceList, error) {
				return append(discoveryDoc(), &metav1.APIResourceList{GroupVersion: "a/b/c"}), nil
			},
			wantErr: "unexpected GroupVersion string",
			want: []string{
				"NamespaceDeletionDiscoveryFailure False ResourcesDiscovered: All resources successfully discovered",
				"NamespaceDeletionGroupVersionParsingFailure True GroupVersionParsingFailed: unexpected GroupVersion string: a/b/c",
				"NamespaceDeletionContentFailure False ContentDeleted: All content successfully deleted, may be waiting on finalization",
				"NamespaceContentRemaining False ContentRemoved: All content successfully removed",
				"NamespaceFinalizersRemaining False ContentRemoved: All content successfully removed",
			},
		},
		{
			name: "content deletion refused",
			react: func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetVerb() == "delete-collection" && a.GetResource() == widgets {
					return true, nil, apierrors.NewForbidden(widgets.GroupResource(), "", errors.New("no"))
				}
				return false, nil, nil
			},
			wantErr: "forbidden",
			want: []string{
				"NamespaceDeletionDiscoveryFailure False ResourcesDiscovered: All resources successfully discovered",
				"NamespaceDeletionGroupVersionParsingFailure False ParsedGroupVersions: All legacy kube types successfully parsed",
				"NamespaceDeletionContentFailure True ContentDeletionFailed: Failed to delete all resource types, 1 remaining: widgets.example.com is forbidden: no",
				// A resource whose deletion failed is not counted (upstream).
				"NamespaceContentRemaining False ContentRemoved: All content successfully removed",
				"NamespaceFinalizersRemaining False ContentRemoved: All content successfully removed",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, deletingNS("ns", corev1.NamespaceTerminating, "kubernetes"), nil, obj(widgets, "Widget", "ns", "w"))
			if tc.discover != nil {
				f.c.deleter.discover = tc.discover
			}
			if tc.react != nil {
				f.dyn.PrependReactor("*", "*", tc.react)
			}
			err := f.c.deleter.delete(context.Background(), "ns")
			checkErr(t, err, tc.wantErr)
			if slices.Contains(f.namespaceActions(), "create finalize") {
				t.Errorf("namespace finalized despite the failure")
			}
			if diff := cmp.Diff(tc.want, f.conditions(t, "ns")); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}
