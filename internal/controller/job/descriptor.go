package job

import (
	"context"
	"time"

	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// workers is how many Jobs sync at once (upstream's
// --concurrent-job-syncs default).
const workers = 5

// Options tunes the controller a Descriptor builds; the zero value is
// upstream's behaviour.
type Options struct {
	// Clock; nil means the real clock.
	Clock clock.PassiveClock
	// BackoffBase and BackoffMax override the back-off as in Config
	// (tests shorten it).
	BackoffBase, BackoffMax time.Duration
}

// Descriptor describes the Job controller for the Manager.
func Descriptor(o Options) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		c, err := New(Config{
			Client: cc.Client, Jobs: cc.Informers.Batch().V1().Jobs(), Pods: cc.Informers.Core().V1().Pods(),
			Recorder: cc.Recorder("job-controller"), Clock: o.Clock, Logger: cc.Logger,
			BackoffBase: o.BackoffBase, BackoffMax: o.BackoffMax,
		})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { c.Run(ctx, workers) }, nil
	}}
}
