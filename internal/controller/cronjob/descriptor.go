package cronjob

import (
	"context"

	"k8s.io/utils/clock"

	"github.com/skiff/skiff/internal/controller"
)

// workers is how many CronJobs sync at once (upstream's
// --concurrent-cron-job-syncs default).
const workers = 5

// Descriptor describes the CronJob controller for the Manager; clk is its
// clock (nil: the real one; tests pass a fake).
func Descriptor(clk clock.WithDelayedExecution) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(cc controller.Context) (controller.RunFunc, error) {
		c, err := New(Config{
			Client: cc.Client, CronJobs: cc.Informers.Batch().V1().CronJobs(), Jobs: cc.Informers.Batch().V1().Jobs(),
			Recorder: cc.Recorder("cronjob-controller"), Clock: clk, Logger: cc.Logger,
		})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { c.Run(ctx, workers) }, nil
	}}
}
