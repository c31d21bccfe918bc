// Package core_test checks invariants every core/v1 kind must keep.
package core_test

import (
	"testing"
	"time"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/configmap"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/endpoints"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/event"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/limitrange"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/namespace"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/node"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/persistentvolume"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/persistentvolumeclaim"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/pod"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podtemplate"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/replicationcontroller"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/resourcequota"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/secret"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/service"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/serviceaccount"
)

// TestEmptyObjects runs every strategy function on an empty object: none
// may panic, rows must have one cell per column, and defaulting must be
// idempotent enough to validate twice.
func TestEmptyObjects(t *testing.T) {
	for _, k := range []kinds.Kind{
		configmap.Kind(), endpoints.Kind(), event.Kind(), limitrange.Kind(), namespace.Kind(), node.Kind(),
		persistentvolumeclaim.Kind(), persistentvolume.Kind(), pod.Kind(), podtemplate.Kind(),
		replicationcontroller.Kind(), resourcequota.Kind(), secret.Kind(), serviceaccount.Kind(), service.Kind(),
	} {
		t.Run(k.Resource, func(t *testing.T) {
			s := k.Strategy
			obj := k.New()
			if s.Default != nil {
				s.Default(obj)
				s.Default(obj)
			}
			if s.PrepareForCreate != nil {
				s.PrepareForCreate(obj)
			}
			if s.Validate != nil {
				s.Validate(obj)
			}
			if s.PrepareForUpdate != nil {
				s.PrepareForUpdate(obj, k.New())
			}
			if s.ValidateUpdate != nil {
				s.ValidateUpdate(obj, obj.DeepCopyObject())
			}
			if s.Fields != nil {
				s.Fields(k.New())
			}
			if got, want := len(s.Row(k.New(), time.Now())), len(s.Columns); got != want {
				t.Errorf("row has %d cells for %d columns", got, want)
			}
			if k.New().GetObjectKind() == nil || k.NewList() == nil {
				t.Errorf("New or NewList returned nil")
			}
		})
	}
}
