package server

import (
	"fmt"
	"os"
	"slices"

	"github.com/skiff/skiff/internal/controller"
	"github.com/skiff/skiff/internal/scheduler"
)

// schedulerComponent is the --disable name of the scheduler.
const schedulerComponent = "scheduler"

// schedulerDescriptors returns the scheduler as one more elected
// component of the controller manager (sharing its informers and Lease),
// or nothing under --disable scheduler. It reads --scheduler-config now,
// so a bad file fails the start rather than the leadership term.
func (s *Server) schedulerDescriptors() ([]controller.Descriptor, error) {
	if slices.Contains(s.cfg.Disable, schedulerComponent) {
		return nil, nil
	}
	var conf *scheduler.Configuration
	if s.cfg.SchedulerConfig != "" {
		data, err := os.ReadFile(s.cfg.SchedulerConfig)
		if err != nil {
			return nil, fmt.Errorf("scheduler config: %w", err)
		}
		if conf, err = scheduler.ParseConfiguration(data); err != nil {
			return nil, err
		}
		if _, err := conf.FrameworkProfiles(); err != nil {
			return nil, err
		}
	}
	return []controller.Descriptor{{Name: schedulerComponent, New: func(c controller.Context) (controller.RunFunc, error) {
		sched, err := scheduler.New(scheduler.Config{
			Client: c.Client, Informers: c.Informers, Recorder: c.Recorder(scheduler.DefaultSchedulerName),
			Configuration: conf, Logger: c.Logger,
		})
		if err != nil {
			return nil, err
		}
		return sched.Run, nil
	}}}, nil
}
