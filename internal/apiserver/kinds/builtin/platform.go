package builtin

import (
	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/apiextensions/customresourcedefinition"
	"github.com/skiff/skiff/internal/apiserver/kinds/certificates/certificatesigningrequest"
	"github.com/skiff/skiff/internal/apiserver/kinds/coordination/lease"
	"github.com/skiff/skiff/internal/apiserver/kinds/discovery/endpointslice"
	"github.com/skiff/skiff/internal/apiserver/kinds/events/event"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/clusterrole"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/clusterrolebinding"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/role"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/rolebinding"
	"github.com/skiff/skiff/internal/apiserver/kinds/scheduling/priorityclass"
	"github.com/skiff/skiff/internal/apiserver/kinds/storage/csidriver"
	"github.com/skiff/skiff/internal/apiserver/kinds/storage/csinode"
	"github.com/skiff/skiff/internal/apiserver/kinds/storage/storageclass"
	"github.com/skiff/skiff/internal/apiserver/kinds/storage/volumeattachment"
)

// platform lists rbac, storage, scheduling, coordination, discovery,
// events.k8s.io, certificates and apiextensions kinds.
//
// Groups follow upstream's discovery priorities (events.k8s.io 17750,
// certificates 17300, rbac 17000, storage 16800, apiextensions 16700,
// scheduling 16600, coordination 16500, discovery 16200; apps 17800,
// autoscaling 17500, batch 17400, networking 17200 and policy 17100 sit
// between them in workloads), and resources within a group are
// alphabetical, as upstream lists them.
func platform() []kinds.Kind {
	return []kinds.Kind{
		event.Kind(),
		certificatesigningrequest.Kind(),
		clusterrolebinding.Kind(),
		clusterrole.Kind(),
		rolebinding.Kind(),
		role.Kind(),
		csidriver.Kind(),
		csinode.Kind(),
		storageclass.Kind(),
		volumeattachment.Kind(),
		customresourcedefinition.Kind(),
		priorityclass.Kind(),
		lease.Kind(),
		endpointslice.Kind(),
	}
}
