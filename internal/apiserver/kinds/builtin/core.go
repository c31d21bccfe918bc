package builtin

import (
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

// core lists the core/v1 kinds in discovery order (alphabetical by
// resource, as upstream's discovery document lists them).
func core() []kinds.Kind {
	return []kinds.Kind{
		configmap.Kind(),
		endpoints.Kind(),
		event.Kind(),
		limitrange.Kind(),
		namespace.Kind(),
		node.Kind(),
		persistentvolumeclaim.Kind(),
		persistentvolume.Kind(),
		pod.Kind(),
		podtemplate.Kind(),
		replicationcontroller.Kind(),
		resourcequota.Kind(),
		secret.Kind(),
		serviceaccount.Kind(),
		service.Kind(),
	}
}
