package builtin

import (
	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/apps/controllerrevision"
	"github.com/skiff/skiff/internal/apiserver/kinds/apps/daemonset"
	"github.com/skiff/skiff/internal/apiserver/kinds/apps/deployment"
	"github.com/skiff/skiff/internal/apiserver/kinds/apps/replicaset"
	"github.com/skiff/skiff/internal/apiserver/kinds/apps/statefulset"
	"github.com/skiff/skiff/internal/apiserver/kinds/autoscaling/horizontalpodautoscaler"
	"github.com/skiff/skiff/internal/apiserver/kinds/batch/cronjob"
	"github.com/skiff/skiff/internal/apiserver/kinds/batch/job"
	"github.com/skiff/skiff/internal/apiserver/kinds/networking/ingress"
	"github.com/skiff/skiff/internal/apiserver/kinds/networking/ingressclass"
	"github.com/skiff/skiff/internal/apiserver/kinds/networking/networkpolicy"
	"github.com/skiff/skiff/internal/apiserver/kinds/policy/poddisruptionbudget"
)

// workloads lists apps/v1, batch/v1, autoscaling/v1 and v2, policy/v1 and
// networking.k8s.io/v1, groups in upstream's priority order and resources
// in discovery (alphabetical) order.
func workloads() []kinds.Kind {
	return []kinds.Kind{
		controllerrevision.Kind(),
		daemonset.Kind(),
		deployment.Kind(),
		replicaset.Kind(),
		statefulset.Kind(),
		horizontalpodautoscaler.KindV2(),
		horizontalpodautoscaler.KindV1(),
		cronjob.Kind(),
		job.Kind(),
		ingressclass.Kind(),
		ingress.Kind(),
		networkpolicy.Kind(),
		poddisruptionbudget.Kind(),
	}
}
