package openapi

import (
	"fmt"
	"reflect"
	"sort"

	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

var coreV1 = schema.GroupVersion{Version: "v1"}

// subresourceTypes maps subresources whose body is not the parent kind to
// the Go type and kind they are served as.
var subresourceTypes = map[string]struct {
	t   reflect.Type
	gvk schema.GroupVersionKind
}{
	"scale":    {reflect.TypeFor[autoscalingv1.Scale](), autoscalingv1.SchemeGroupVersion.WithKind("Scale")},
	"eviction": {reflect.TypeFor[policyv1.Eviction](), policyv1.SchemeGroupVersion.WithKind("Eviction")},
	"binding":  {reflect.TypeFor[corev1.Binding](), corev1.SchemeGroupVersion.WithKind("Binding")},
	"token":    {reflect.TypeFor[authenticationv1.TokenRequest](), authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")},
}

// buildDefinitions returns the definitions of every type reachable from the
// resources, plus the meta/v1 types clients rely on, in one dialect.
func buildDefinitions(resources []Resource, v3 bool) (spec.Definitions, error) {
	b := newDefBuilder(v3)

	gvs := map[schema.GroupVersion]bool{coreV1: true}
	for _, r := range resources {
		if err := r.validate(); err != nil {
			return nil, err
		}
		if r.IsCustom() {
			continue
		}
		// Only built-in group versions: custom resources coming and going
		// must not change the documents of the built-in ones.
		gvs[r.GVK.GroupVersion()] = true
		b.addGVK(reflect.TypeOf(r.Object).Elem(), r.GVK)
		if r.List != nil {
			b.addGVK(reflect.TypeOf(r.List).Elem(), r.listGVK())
		}
	}

	for _, t := range []reflect.Type{
		reflect.TypeFor[metav1.Status](),
		reflect.TypeFor[metav1.APIResourceList](),
		reflect.TypeFor[metav1.APIGroup](),
		reflect.TypeFor[metav1.APIGroupList](),
		reflect.TypeFor[metav1.APIVersions](),
	} {
		b.addGVK(t, coreV1.WithKind(t.Name()))
	}
	for gv := range gvs {
		b.addGVK(reflect.TypeFor[metav1.DeleteOptions](), gv.WithKind("DeleteOptions"))
		b.addGVK(reflect.TypeFor[metav1.WatchEvent](), gv.WithKind("WatchEvent"))
	}
	for _, sub := range subresourceTypes {
		b.addGVK(sub.t, sub.gvk)
	}

	for _, t := range []reflect.Type{
		reflect.TypeFor[metav1.Status](),
		reflect.TypeFor[metav1.APIResourceList](),
		reflect.TypeFor[metav1.APIGroup](),
		reflect.TypeFor[metav1.APIGroupList](),
		reflect.TypeFor[metav1.APIVersions](),
		reflect.TypeFor[metav1.DeleteOptions](),
		reflect.TypeFor[metav1.WatchEvent](),
		reflect.TypeFor[metav1.Patch](),
		reflect.TypeFor[metav1.ObjectMeta](),
		reflect.TypeFor[metav1.ListMeta](),
	} {
		b.add(t)
	}

	for _, r := range sortedResources(resources) {
		if r.IsCustom() {
			if err := b.addCustom(r); err != nil {
				return nil, err
			}
		} else {
			b.add(reflect.TypeOf(r.Object).Elem())
			if r.List != nil {
				b.add(reflect.TypeOf(r.List).Elem())
			}
		}
		for _, sr := range r.Subresources {
			if sub, ok := subresourceTypes[sr]; ok {
				b.add(sub.t)
			}
		}
	}
	smd, err := builtinStructure()
	if err != nil {
		return nil, err
	}
	custom := map[string]bool{}
	for _, r := range resources {
		if r.IsCustom() {
			custom[r.objectName()], custom[r.listName()] = true, true
		}
	}
	addStructure(b.defs, smd, custom)
	return b.defs, nil
}

// sortedResources returns the resources in a stable order so that documents
// (and their hashes) do not depend on the caller's order.
func sortedResources(resources []Resource) []Resource {
	out := append([]Resource(nil), resources...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.GVK.Group != b.GVK.Group {
			return a.GVK.Group < b.GVK.Group
		}
		if a.GVK.Version != b.GVK.Version {
			return a.GVK.Version < b.GVK.Version
		}
		return a.Resource < b.Resource
	})
	return out
}

// closure returns the names of the definitions reachable from roots.
func closure(defs spec.Definitions, roots []string) (map[string]bool, error) {
	seen := map[string]bool{}
	var visit func(name string) error
	var walk func(s *spec.Schema) error
	visit = func(name string) error {
		if seen[name] {
			return nil
		}
		s, ok := defs[name]
		if !ok {
			return fmt.Errorf("definition %q is referenced but not defined", name)
		}
		seen[name] = true
		return walk(&s)
	}
	walk = func(s *spec.Schema) error {
		if s == nil {
			return nil
		}
		if name := refName(s.Ref); name != "" {
			if err := visit(name); err != nil {
				return err
			}
		}
		for _, p := range s.Properties {
			if err := walk(&p); err != nil {
				return err
			}
		}
		if s.Items != nil {
			if err := walk(s.Items.Schema); err != nil {
				return err
			}
			for i := range s.Items.Schemas {
				if err := walk(&s.Items.Schemas[i]); err != nil {
					return err
				}
			}
		}
		if s.AdditionalProperties != nil {
			if err := walk(s.AdditionalProperties.Schema); err != nil {
				return err
			}
		}
		for _, list := range [][]spec.Schema{s.AllOf, s.OneOf, s.AnyOf} {
			for i := range list {
				if err := walk(&list[i]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, r := range roots {
		if err := visit(r); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// refName returns the definition name a local reference points at.
func refName(r spec.Ref) string {
	s := r.String()
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return ""
}
