package kubelet

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/kubelet/expansion"
	"github.com/skiff/skiff/internal/kubelet/volume"
)

// Reasons of upstream's kubelet for volumes and container configuration.
const (
	eventFailedMount = "FailedMount"
	// reasonCreateConfigError is the waiting reason of a container whose
	// environment or mounts cannot be resolved.
	reasonCreateConfigError = "CreateContainerConfigError"
)

// newVolumes returns the getter of the objects volumes and environments
// refer to, and the volume manager, for k.
func newVolumes(k *Kubelet) (volume.Objects, *volume.Manager) {
	objs := &volume.ClientObjects{Client: k.client, Clock: k.clock}
	m, err := volume.New(volume.Config{
		PodsDir: k.cfg.PodsDir, Objects: objs, Allocatable: k.nodeAllocatable,
		Clock: k.clock, Logger: k.cfg.Logger,
	})
	if err != nil {
		panic(err) // PodsDir is defaulted and Objects set above
	}
	return objs, m
}

// nodeAllocatable is what resourceFieldRef reports for a limit a
// container leaves unset.
func (k *Kubelet) nodeAllocatable() corev1.ResourceList {
	return allocatable(k.capacity(), k.cfg.SystemReserved, k.cfg.KubeReserved)
}

// setUpVolumes prepares (or refreshes) the pod's volumes and records a
// FailedMount event for each that fails. It reports whether all are
// ready; a pod whose sandbox does not run yet waits until they are.
func (k *Kubelet) setUpVolumes(ctx context.Context, pod *corev1.Pod) bool {
	// Called for pods without volumes too: it marks the pod's directory
	// as in use, so that orphan cleanup racing with a new pod leaves it.
	_, errs := k.volumes.SetUp(ctx, pod)
	for _, err := range errs {
		if k.volumes.ShouldReport(pod.UID, err.Error()) {
			k.recorder.Event(pod, corev1.EventTypeWarning, eventFailedMount, err.Error())
		}
	}
	return len(errs) == 0
}

// cleanupVolumes unmounts and removes the volumes of pods not in uids
// (gone from the node, perhaps while the agent was away).
func (k *Kubelet) cleanupVolumes(uids map[types.UID]bool) {
	if err := k.volumes.CleanupOrphans(uids); err != nil {
		k.log.Warn("Cleaning up the volumes of deleted pods failed", "err", err)
	}
}

// resolveContainerConfig returns the CRI config of container c with its
// environment and mounts resolved, or the error that keeps it from being
// created (the CreateContainerConfigError message), recorded as upstream
// records it.
func (k *Kubelet) resolveContainerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sandboxID, image string, attempt int32) (*runtimeapi.ContainerConfig, error) {
	cfg, err := k.resolveEnvAndMounts(ctx, pod, c, sandboxID, image, attempt)
	if err != nil && k.volumes.ShouldReport(pod.UID, c.Name+": "+err.Error()) {
		k.containerEvent(pod, c.Name, corev1.EventTypeWarning, eventFailed, "Error: %v", err)
	}
	return cfg, err
}

func (k *Kubelet) resolveEnvAndMounts(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sandboxID, image string, attempt int32) (*runtimeapi.ContainerConfig, error) {
	services, err := k.podServices(ctx, pod)
	if err != nil {
		return nil, err
	}
	var hostIPs []string
	if k.cfg.NodeIP != "" {
		hostIPs = []string{k.cfg.NodeIP}
	}
	res, err := containerEnv(ctx, pod, c, envInputs{
		objects:     k.objects,
		services:    services,
		addrs:       volume.PodAddresses{PodIPs: k.podIPs(ctx, pod, sandboxID), HostIPs: hostIPs},
		allocatable: k.nodeAllocatable(),
	})
	for _, w := range res.warnings {
		if k.volumes.ShouldReport(pod.UID, w) {
			k.recorder.Event(pod, corev1.EventTypeWarning, reasonInvalidEnvVarNames, w)
		}
	}
	if err != nil {
		return nil, err
	}
	vars := make(map[string]string, len(res.env))
	for _, e := range res.env {
		vars[e.Name] = e.Value
	}
	mounts, err := volume.Mounts(c, k.volumes.Volumes(pod.UID), func(s string) string { return expansion.Expand(s, vars) })
	if err != nil {
		return nil, err
	}
	hosts, err := k.etcHostsMount(pod, c, k.podIPs(ctx, pod, sandboxID), k.volumes.PodDir(pod.UID))
	if err != nil {
		return nil, fmt.Errorf("write the pod's hosts file: %w", err)
	}
	if hosts != nil {
		mounts = append(mounts, hosts)
	}
	cfg := containerConfig(pod, c, image, attempt, res.env, mounts)
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil && cfg.Linux != nil && cfg.Linux.SecurityContext != nil {
		// As upstream, the processes join the group that owns the
		// volumes (volume.setOwnership).
		l := cfg.Linux.SecurityContext
		if !slices.Contains(l.SupplementalGroups, *sc.FSGroup) {
			l.SupplementalGroups = append(l.SupplementalGroups, *sc.FSGroup)
		}
	}
	return cfg, nil
}

// podServices returns the services whose variables pod may get: those of
// its namespace (when it wants service links) and default/kubernetes.
func (k *Kubelet) podServices(ctx context.Context, pod *corev1.Pod) ([]*corev1.Service, error) {
	var out []*corev1.Service
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		list, err := k.client.CoreV1().Services(pod.Namespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, fmt.Errorf("list services of namespace %s for the environment: %w", pod.Namespace, err)
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
	}
	if pod.Namespace != metav1.NamespaceDefault || len(out) == 0 {
		svc, err := k.client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, masterService, metav1.GetOptions{})
		switch {
		case err == nil:
			out = append(out, svc)
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("get service default/%s for the environment: %w", masterService, err)
		}
	}
	return out, nil
}

// waitForVolumes posts the status of a pod whose volumes are not ready:
// Pending, its containers waiting in ContainerCreating.
func (k *Kubelet) waitForVolumes(ctx context.Context, pod *corev1.Pod) error {
	obs := podObservation{runtimeName: k.runtimeName, nodeIP: k.cfg.NodeIP, containers: map[string]containerObservation{}}
	return k.updatePodStatus(ctx, pod, computePodStatus(pod, obs, k.clock.Now()))
}
