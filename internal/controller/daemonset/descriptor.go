package daemonset

import (
	"context"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name for --disable-controllers, as upstream.
const Name = "daemonset"

// workers is how many DaemonSets sync at once (upstream's
// --concurrent-daemonset-syncs default).
const workers = 2

// Descriptor describes the DaemonSet controller for the Manager.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		c, err := New(Config{Client: cc.Client, Informers: cc.Informers, Recorder: cc.Recorder("daemonset-controller"), Logger: cc.Logger})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { c.Run(ctx, workers) }, nil
	}}
}
