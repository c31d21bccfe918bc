package statefulset

import (
	"context"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name for --disable-controllers, as upstream.
const Name = "statefulset"

// workers is how many StatefulSets sync at once (upstream's
// --concurrent-statefulset-syncs default).
const workers = 5

// Descriptor describes the StatefulSet controller for the Manager.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		c, err := New(Config{Client: cc.Client, Informers: cc.Informers, Recorder: cc.Recorder("statefulset-controller"), Logger: cc.Logger})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { c.Run(ctx, workers) }, nil
	}}
}
