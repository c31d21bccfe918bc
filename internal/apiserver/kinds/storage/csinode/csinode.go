// Package csinode is the strategy of storage.k8s.io/v1 CSINodes.
package csinode

import (
	"fmt"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/storage/storagevalidation"
)

const (
	nodeIDMaxLength     = 192
	longNodeIDMaxLength = 256
)

// Kind returns the CSINode kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:      storagev1.SchemeGroupVersion.WithKind("CSINode"),
		Resource: "csinodes",
		Singular: "csinode",
		New:      func() runtime.Object { return &storagev1.CSINode{} },
		NewList:  func() runtime.Object { return &storagev1.CSINodeList{} },
		Strategy: kinds.Strategy{
			Validate: func(obj runtime.Object) field.ErrorList {
				return validateDrivers(obj.(*storagev1.CSINode).Spec.Drivers, nodeIDMaxLength)
			},
			ValidateUpdate: validateUpdate,
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Drivers", "integer", 0, "Drivers indicates the number of CSI drivers registered on the node"),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				n := obj.(*storagev1.CSINode)
				return []interface{}{n.Name, int64(len(n.Spec.Drivers)), kinds.Age(n.CreationTimestamp, now)}
			},
		},
	}
}

func validateDrivers(drivers []storagev1.CSINodeDriver, maxNodeID int) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	base := field.NewPath("spec", "drivers")
	for i, d := range drivers {
		p := base.Index(i)
		errs = append(errs, storagevalidation.ValidateCSIDriverName(d.Name, p.Child("name"))...)
		if d.NodeID == "" {
			errs = append(errs, field.Required(p.Child("nodeID"), ""))
		}
		if len(d.NodeID) > maxNodeID {
			errs = append(errs, field.Invalid(p.Child("nodeID"), d.NodeID, fmt.Sprintf("must be %d characters or less", maxNodeID)))
		}
		if d.Allocatable != nil && d.Allocatable.Count != nil && *d.Allocatable.Count < 0 {
			errs = append(errs, field.Invalid(p.Child("allocatable", "count"), int64(*d.Allocatable.Count), "must be greater than or equal to 0"))
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Duplicate(p.Child("name"), d.Name))
		}
		names.Insert(d.Name)
		keys := sets.New[string]()
		for _, key := range d.TopologyKeys {
			if key == "" {
				errs = append(errs, field.Required(p, key))
			}
			if keys.Has(key) {
				errs = append(errs, field.Duplicate(p, key))
			}
			keys.Insert(key)
			errs = append(errs, storagevalidation.ValidateQualifiedName(key, p)...)
		}
	}
	return errs
}

func validateUpdate(obj, old runtime.Object) field.ErrorList {
	n, o := obj.(*storagev1.CSINode), old.(*storagev1.CSINode)
	// Long node IDs stay accepted once stored, as upstream tolerates them.
	maxNodeID := nodeIDMaxLength
	for _, d := range o.Spec.Drivers {
		if len(d.NodeID) > nodeIDMaxLength {
			maxNodeID = longNodeIDMaxLength
		}
	}
	errs := validateDrivers(n.Spec.Drivers, maxNodeID)
	for _, od := range o.Spec.Drivers {
		for _, nd := range n.Spec.Drivers {
			if od.Name != nd.Name {
				continue
			}
			// The allocatable count may change (MutableCSINodeAllocatableCount).
			a, b := od.DeepCopy(), nd.DeepCopy()
			a.Allocatable, b.Allocatable = nil, nil
			errs = append(errs, apivalidation.ValidateImmutableField(b, a, field.NewPath("spec", "drivers"))...)
		}
	}
	return errs
}
