// Package customresourcedefinition is the strategy of
// apiextensions.k8s.io/v1 CustomResourceDefinitions.
//
// Validation converts the v1 object to the apiextensions internal form,
// as upstream does, so that error paths match upstream's: when every
// version carries the same schema, subresources or columns they are
// reported under spec.validation, spec.subresources and
// spec.additionalPrinterColumns. status.acceptedNames and the Established
// and NamesAccepted conditions belong to the CRD controller; this package
// only keeps status.storedVersions in step with the storage version.
package customresourcedefinition

import (
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Kind returns the CustomResourceDefinition kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"),
		Resource:   "customresourcedefinitions",
		Singular:   "customresourcedefinition",
		ShortNames: []string{"crd", "crds"},
		Categories: []string{"api-extensions"},
		New:        func() runtime.Object { return &apiextensionsv1.CustomResourceDefinition{} },
		NewList:    func() runtime.Object { return &apiextensionsv1.CustomResourceDefinitionList{} },
		HasStatus:  true,
		// PrepareForCreate resets the status itself and then records the
		// storage version, which validation requires.
		KeepStatusOnCreate: true,
		TracksGeneration:   true,
		Strategy: kinds.Strategy{
			Default: func(obj runtime.Object) {
				apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(obj.(*apiextensionsv1.CustomResourceDefinition))
			},
			PrepareForCreate: func(obj runtime.Object) {
				crd := obj.(*apiextensionsv1.CustomResourceDefinition)
				crd.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
				recordStorageVersion(crd)
			},
			// The status is the stored one on main-resource updates (the API
			// server copies it too); a new storage version is recorded in
			// status.storedVersions here, as upstream does. Generation is the
			// API server's job (TracksGeneration).
			PrepareForUpdate: func(obj, old runtime.Object) {
				crd, oldCRD := obj.(*apiextensionsv1.CustomResourceDefinition), old.(*apiextensionsv1.CustomResourceDefinition)
				crd.Status = *oldCRD.Status.DeepCopy()
				recordStorageVersion(crd)
			},
			Validate: func(obj runtime.Object) field.ErrorList {
				return validateCreate(obj.(*apiextensionsv1.CustomResourceDefinition))
			},
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return validateUpdate(obj.(*apiextensionsv1.CustomResourceDefinition), old.(*apiextensionsv1.CustomResourceDefinition))
			},
			Columns: []metav1.TableColumnDefinition{kinds.NameColumn, kinds.CreatedAtColumn},
			Row: func(obj runtime.Object, _ time.Time) []interface{} {
				crd := obj.(*apiextensionsv1.CustomResourceDefinition)
				return []interface{}{crd.Name, kinds.CreatedAt(crd.CreationTimestamp)}
			},
		},
	}
}

// recordStorageVersion appends the current storage version to
// status.storedVersions unless it is already there.
func recordStorageVersion(crd *apiextensionsv1.CustomResourceDefinition) {
	for _, v := range crd.Spec.Versions {
		if !v.Storage {
			continue
		}
		for _, s := range crd.Status.StoredVersions {
			if s == v.Name {
				return
			}
		}
		crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
		return
	}
}
