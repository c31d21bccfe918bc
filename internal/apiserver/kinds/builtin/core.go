package builtin

import (
	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/configmap"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/endpoints"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/event"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/namespace"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/node"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/pod"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/secret"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/service"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/serviceaccount"
)

// core lists the core/v1 kinds in discovery order (alphabetical by resource).
func core() []kinds.Kind {
	return []kinds.Kind{
		configmap.Kind(),
		endpoints.Kind(),
		event.Kind(),
		namespace.Kind(),
		node.Kind(),
		pod.Kind(),
		secret.Kind(),
		serviceaccount.Kind(),
		service.Kind(),
	}
}
