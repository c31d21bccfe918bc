// Package builtin lists every built-in kind the API server serves.
package builtin

import (
	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/configmap"
)

// All returns the built-in kinds, in discovery order: the core group first,
// then the named groups in upstream's priority order.
func All() []kinds.Kind {
	return []kinds.Kind{
		// core/v1
		configmap.Kind(),
	}
}
