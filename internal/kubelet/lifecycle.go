package kubelet

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/kubelet/prober"
)

// annotationHash holds, on a container, the hash of the spec it was
// created from (upstream's annotation name).
const annotationHash = "io.kubernetes.container.hash"

// containerHash hashes what of c may change while its pod runs: the
// image (the only mutable field of a container that needs a new one).
func containerHash(c *corev1.Container) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(c.Image)) // a hash's Write never fails
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// minGrace is the least time a stopped container gets between SIGTERM
// and SIGKILL once its preStop hook has run (upstream's minimum).
const minGrace = 2 * time.Second

// userAgent is what HTTP probes and hooks send, upstream's
// "kube-probe/<major>.<minor>".
func userAgent() string {
	v := strings.TrimPrefix(Version, "v")
	if parts := strings.SplitN(v, ".", 3); len(parts) >= 2 {
		v = parts[0] + "." + parts[1]
	}
	return "kube-probe/" + v
}

func newProbeManager(k *Kubelet) *prober.Manager {
	return prober.NewManager(prober.Config{
		Runner:   &prober.Runner{Exec: k.runtime, UserAgent: userAgent()},
		Clock:    k.clock,
		Recorder: k.recorder,
		OnChange: func(key string) {
			if k.queue != nil {
				k.queue.Add(key)
			}
		},
		Logger: k.log,
	})
}

// podIPOf returns the IP probes and hooks of pod aim at by default.
func (k *Kubelet) podIPOf(pod *corev1.Pod) string {
	if pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	return k.cfg.NodeIP
}

// runHook runs a lifecycle handler of container c (running as id) and
// returns upstream's failure message with the error. Exec hooks get
// timeout (0: none); a sleep action sleeps, cut short by ctx.
func (k *Kubelet) runHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, id string, h *corev1.LifecycleHandler, timeout time.Duration) (string, error) {
	switch {
	case h.Exec != nil:
		res, err := k.runtime.ExecSync(ctx, id, h.Exec.Command, timeout)
		if err == nil && res.ExitCode != 0 {
			err = fmt.Errorf("command '%s' exited with %d: %s", strings.Join(h.Exec.Command, " "), res.ExitCode, res.Stderr)
		}
		if err != nil {
			return fmt.Sprintf("Exec lifecycle hook (%v) for Container %q in Pod %q failed - error: %v, message: %q",
				h.Exec.Command, c.Name, formatPod(pod), err, string(res.Stdout)+string(res.Stderr)), err
		}
		return "", nil
	case h.HTTPGet != nil:
		err := k.runHTTPHook(ctx, pod, c, h.HTTPGet)
		if err != nil {
			return fmt.Sprintf("HTTP lifecycle hook (%s) for Container %q in Pod %q failed - error: %v",
				h.HTTPGet.Path, c.Name, formatPod(pod), err), err
		}
		return "", nil
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-k.clock.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
		return "", nil
	}
	err := errors.New("invalid handler")
	return fmt.Sprintf("Cannot run handler: %v", err), err
}

func (k *Kubelet) runHTTPHook(ctx context.Context, pod *corev1.Pod, c *corev1.Container, g *corev1.HTTPGetAction) error {
	u, err := prober.HTTPURL(g, prober.Target{PodIP: k.podIPOf(pod), Container: c})
	if err != nil {
		return err
	}
	req, err := prober.NewHTTPRequest(ctx, u, g.HTTPHeaders, userAgent())
	if err != nil {
		return err
	}
	resp, err := prober.NewHTTPClient(0).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10)) // drained for the connection's sake
	if resp.StatusCode < http.StatusOK || resp.StatusCode >= http.StatusBadRequest {
		return fmt.Errorf("HTTP lifecycle hook returned status code %d", resp.StatusCode)
	}
	return nil
}

// containerSpec returns pod's container or init container called name
// (nil when the spec has none, e.g. after the container was renamed).
func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// killContainer stops a running container as upstream does: a Killing
// event with msg (default "Stopping container NAME"), then its preStop
// hook, bounded by grace, then StopContainer with the rest of grace (at
// least minGrace) between SIGTERM and SIGKILL.
func (k *Kubelet) killContainer(ctx context.Context, pod *corev1.Pod, name, id string, grace time.Duration, msg string) error {
	if msg == "" {
		msg = "Stopping container " + name
	}
	k.containerEvent(pod, name, corev1.EventTypeNormal, eventKilling, "%s", msg)
	c := containerSpec(pod, name)
	if c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0 {
		start := k.clock.Now()
		hookCtx, cancel := context.WithTimeout(ctx, grace)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if m, err := k.runHook(hookCtx, pod, c, id, c.Lifecycle.PreStop, grace); err != nil {
				k.containerEvent(pod, name, corev1.EventTypeWarning, eventFailedPreStopHook, "%s", m)
			}
		}()
		select {
		case <-done:
		case <-hookCtx.Done():
		}
		cancel()
		grace -= k.clock.Since(start)
		grace = max(grace, minGrace)
	}
	if err := k.runtime.StopContainer(ctx, id, grace); err != nil {
		return fmt.Errorf("stop container %s of pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
	}
	return nil
}

// podGrace returns how long pod's containers get to stop: the deletion
// grace period when it is being deleted, else terminationGracePeriodSeconds.
func podGrace(pod *corev1.Pod) time.Duration {
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		grace = *g
	}
	return time.Duration(grace) * time.Second
}

// probeGrace returns the grace of a container killed for failing probe p:
// the probe's own terminationGracePeriodSeconds when set.
func probeGrace(pod *corev1.Pod, p *corev1.Probe) time.Duration {
	if p != nil && p.TerminationGracePeriodSeconds != nil {
		return time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	return podGrace(pod)
}

// killRunning stops every running container of the sandbox through
// killContainer, as upstream orders it: the app and regular init
// containers in parallel, given grace, then the sidecars one at a time,
// last first, with what remains of grace.
func (k *Kubelet) killRunning(ctx context.Context, pod *corev1.Pod, sandboxID string, grace time.Duration) error {
	list, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{PodSandboxId: sandboxID})
	if err != nil {
		return err
	}
	start := k.clock.Now()
	sidecars := map[string]string{} // name → ID
	errs := make([]error, len(list))
	done := make(chan struct{}, len(list))
	n := 0
	for i, c := range list {
		if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			continue
		}
		name := c.Labels[labelContainerName]
		if pod != nil {
			if slices.ContainsFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == name && isSidecar(&c) }) {
				sidecars[name] = c.Id
				continue
			}
		}
		n++
		go func() {
			defer func() { done <- struct{}{} }()
			if pod == nil {
				errs[i] = k.runtime.StopContainer(ctx, c.Id, grace)
				return
			}
			errs[i] = k.killContainer(ctx, pod, name, c.Id, grace, "")
		}()
	}
	for range n {
		<-done
	}
	if pod == nil {
		return errors.Join(errs...)
	}
	for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
		name := pod.Spec.InitContainers[i].Name
		if id, ok := sidecars[name]; ok {
			left := max(grace-k.clock.Since(start), minGrace)
			errs = append(errs, k.killContainer(ctx, pod, name, id, left, ""))
		}
	}
	return errors.Join(errs...)
}
