package customresource

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

// selectableFields returns the values of a version's selectableFields
// (dotted paths) on obj; missing values are "" so that every key is
// present, as field selectors expect.
func selectableFields(obj runtime.Object, paths []string) fields.Set {
	set := make(fields.Set, len(paths))
	u, _ := obj.(*unstructured.Unstructured)
	for _, p := range paths {
		set[p] = ""
		if u == nil {
			continue
		}
		v, found, err := unstructured.NestedFieldNoCopy(u.Object, strings.Split(p, ".")...)
		if !found || err != nil || v == nil {
			continue
		}
		switch v.(type) {
		case string, bool, int64, float64:
			set[p] = fmt.Sprint(v)
		}
	}
	return set
}
