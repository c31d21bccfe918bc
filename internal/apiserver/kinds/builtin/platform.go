package builtin

import "github.com/skiff/skiff/internal/apiserver/kinds"

// platform lists rbac, storage, scheduling, coordination, discovery,
// events.k8s.io, certificates and apiextensions kinds.
func platform() []kinds.Kind {
	return []kinds.Kind{}
}
