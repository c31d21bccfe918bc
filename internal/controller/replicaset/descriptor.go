package replicaset

import (
	"context"

	"github.com/skiff/skiff/internal/controller"
)

// workers is how many keys each controller syncs at once (upstream's
// --concurrent-replicaset-syncs default).
const workers = 5

// Descriptor describes the ReplicaSet controller for the Manager.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: "replicaset", New: func(cc controller.Context) (controller.RunFunc, error) {
		return build(cc, "replicaset-controller", NewReplicaSets)
	}}
}

// ReplicationControllerDescriptor describes the ReplicationController
// controller for the Manager.
func ReplicationControllerDescriptor() controller.Descriptor {
	return controller.Descriptor{Name: "replicationcontroller", New: func(cc controller.Context) (controller.RunFunc, error) {
		return build(cc, "replication-controller", NewReplicationControllers)
	}}
}

func build(cc controller.Context, component string, newFn func(Config) (*Controller, error)) (controller.RunFunc, error) {
	c, err := newFn(Config{Client: cc.Client, Informers: cc.Informers, Recorder: cc.Recorder(component), Logger: cc.Logger})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) { c.Run(ctx, workers) }, nil
}
