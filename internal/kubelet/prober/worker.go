package prober

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// worker probes one container with one probe. Its fields after trigger
// are owned by its goroutine (or a test calling doProbe).
type worker struct {
	m         *Manager
	podKey    string
	pod       *podProbes
	container corev1.Container
	fieldPath string
	kind      Kind
	spec      corev1.Probe
	stop      context.CancelFunc
	trigger   chan struct{}

	// containerID is the container instance the counters below are for.
	containerID string
	// last is the latest single outcome and runs how many consecutive
	// probes had it.
	last Result
	runs int
	// onHold stops probing a container whose liveness or startup probe
	// failed, until it is replaced.
	onHold bool
}

// run probes every periodSeconds (or when triggered) until ctx ends or
// the container will never run again.
func (w *worker) run(ctx context.Context) {
	t := w.m.cfg.Clock.NewTicker(time.Duration(w.spec.PeriodSeconds) * time.Second)
	defer t.Stop()
	for w.doProbe(ctx) {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-w.trigger:
		}
	}
}

// initial is the result a new container starts with: not ready, alive,
// and not started.
func (w *worker) initial() Result {
	switch w.kind {
	case Readiness:
		return Failure
	case Liveness:
		return Success
	}
	return Unknown
}

// doProbe probes once if the container's state calls for it and reports
// whether the worker should go on.
func (w *worker) doProbe(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	st, ok, started := w.m.state(w)
	if !ok || st.ID == "" {
		return true // not created yet
	}
	if st.ID != w.containerID {
		w.containerID = st.ID
		w.last, w.runs, w.onHold = Unknown, 0, false
		w.m.setQuiet(w, st.ID, w.initial())
	}
	if !st.Running {
		if w.kind == Readiness {
			w.m.set(w, st.ID, Failure)
		}
		// A container that exited under restartPolicy Never is done.
		return !st.Exited || w.pod.restartPolicy != corev1.RestartPolicyNever
	}
	if w.onHold || st.Terminating && w.kind != Readiness {
		return true
	}
	if w.m.cfg.Clock.Since(st.StartedAt) < time.Duration(w.spec.InitialDelaySeconds)*time.Second {
		return true
	}
	// Liveness and readiness wait for the startup probe; it ends there.
	if (w.kind == Startup) == started {
		return true
	}
	timeout := time.Duration(w.spec.TimeoutSeconds) * time.Second
	res, out, err := w.m.cfg.Runner.Run(ctx, &w.spec.ProbeHandler, timeout, Target{ContainerID: st.ID, PodIP: st.PodIP, Container: &w.container})
	if ctx.Err() != nil {
		return false
	}
	switch {
	case err != nil:
		res = Failure
		w.event("%s probe errored: %v", w.kind, err)
	case res == Failure:
		w.event("%s probe failed: %s", w.kind, out)
	}
	if res == w.last {
		w.runs++
	} else {
		w.last, w.runs = res, 1
	}
	if res == Failure && w.runs < int(w.spec.FailureThreshold) || res == Success && w.runs < int(w.spec.SuccessThreshold) {
		return true
	}
	w.m.set(w, st.ID, res)
	if res == Failure && w.kind != Readiness {
		// The kubelet kills the container; probe its successor.
		w.onHold, w.runs = true, 0
	}
	return true
}

func (w *worker) event(format string, args ...any) {
	w.m.log.Debug("Probe failed", "pod", w.podKey, "container", w.container.Name, "probe", string(w.kind))
	if w.m.cfg.Recorder == nil {
		return
	}
	ref := w.pod.ref
	ref.FieldPath = w.fieldPath
	w.m.cfg.Recorder.Eventf(&ref, corev1.EventTypeWarning, "Unhealthy", format, args...)
}
