package builtin

import (
	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/configmap"
)

// core lists the core/v1 kinds.
func core() []kinds.Kind {
	return []kinds.Kind{
		configmap.Kind(),
	}
}
