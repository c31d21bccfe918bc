package storage

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// AttrFunc returns the labels and selectable fields of an object.
type AttrFunc func(obj runtime.Object) (labels.Set, fields.Set, error)

// Predicate selects objects by label and field selectors. The zero value
// matches everything.
type Predicate struct {
	Label    labels.Selector
	Field    fields.Selector
	GetAttrs AttrFunc
}

// Empty reports whether p matches every object.
func (p Predicate) Empty() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// Matches reports whether obj satisfies both selectors.
func (p Predicate) Matches(obj runtime.Object) (bool, error) {
	if p.Empty() {
		return true, nil
	}
	var (
		ls labels.Set
		fs fields.Set
	)
	if p.GetAttrs != nil {
		var err error
		if ls, fs, err = p.GetAttrs(obj); err != nil {
			return false, err
		}
	} else {
		m, err := meta.Accessor(obj)
		if err != nil {
			return false, err
		}
		ls = labels.Set(m.GetLabels())
		fs = fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}
	}
	if p.Label != nil && !p.Label.Matches(ls) {
		return false, nil
	}
	if p.Field != nil && !p.Field.Matches(fs) {
		return false, nil
	}
	return true, nil
}
