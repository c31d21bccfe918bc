package deployment

import (
	"context"

	"github.com/skiff/skiff/internal/controller"
)

// workers is how many Deployments sync at once (upstream's
// --concurrent-deployment-syncs default).
const workers = 5

// Descriptor describes the Deployment controller for the Manager.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: "deployment", New: func(cc controller.Context) (controller.RunFunc, error) {
		c, err := New(Config{Client: cc.Client, Informers: cc.Informers, Recorder: cc.Recorder("deployment-controller"), Logger: cc.Logger})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { c.Run(ctx, workers) }, nil
	}}
}
