package kubelet

import (
	"fmt"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Labels and annotations the agent puts on sandboxes and containers, the
// names upstream's kubelet uses (so crictl and tools show them alike).
const (
	labelPodName          = "io.kubernetes.pod.name"
	labelPodNamespace     = "io.kubernetes.pod.namespace"
	labelPodUID           = "io.kubernetes.pod.uid"
	labelContainerName    = "io.kubernetes.container.name"
	annotationRestarts    = "io.kubernetes.container.restartCount"
	annotationTermination = "io.kubernetes.pod.terminationGracePeriod"
)

// podLogDir returns the directory of a pod's container logs under root.
func podLogDir(root string, pod *corev1.Pod) string {
	return filepath.Join(root, pod.Namespace+"_"+pod.Name+"_"+string(pod.UID))
}

// sandboxConfig returns the CRI sandbox config of pod. attempt counts the
// sandboxes created for the pod before this one.
func sandboxConfig(pod *corev1.Pod, logRoot string, attempt uint32) *runtimeapi.PodSandboxConfig {
	labels := map[string]string{
		labelPodName: pod.Name, labelPodNamespace: pod.Namespace, labelPodUID: string(pod.UID),
	}
	for k, v := range pod.Labels {
		if _, ok := labels[k]; !ok {
			labels[k] = v
		}
	}
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{
			Name: pod.Name, Namespace: pod.Namespace, Uid: string(pod.UID), Attempt: attempt,
		},
		// Hostname, DNS and port mappings: see setSandboxNetwork.
		LogDirectory: podLogDir(logRoot, pod),
		Labels:       labels,
		Annotations:  copyStrings(pod.Annotations),
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{NamespaceOptions: podNamespaces(pod)},
		},
	}
}

// containerConfig returns the CRI config of container c of pod, for its
// restarts-th start. image is the image reference to run; env is the
// resolved environment (containerEnv) and mounts the container's volume
// mounts (volume.Mounts).
func containerConfig(pod *corev1.Pod, c *corev1.Container, image string, restarts int32, env []corev1.EnvVar, mounts []*runtimeapi.Mount) *runtimeapi.ContainerConfig {
	envs := make([]*runtimeapi.KeyValue, 0, len(env))
	for _, e := range env {
		envs = append(envs, &runtimeapi.KeyValue{Key: e.Name, Value: []byte(e.Value)})
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	return &runtimeapi.ContainerConfig{
		Metadata:   &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: uint32(restarts)},
		Image:      &runtimeapi.ImageSpec{Image: image, UserSpecifiedImage: c.Image},
		Command:    expandArgs(c.Command, env),
		Args:       expandArgs(c.Args, env),
		WorkingDir: c.WorkingDir,
		Envs:       envs,
		Mounts:     mounts,
		Labels: map[string]string{
			labelPodName: pod.Name, labelPodNamespace: pod.Namespace, labelPodUID: string(pod.UID),
			labelContainerName: c.Name,
		},
		Annotations: map[string]string{
			annotationRestarts:    strconv.Itoa(int(restarts)),
			annotationTermination: strconv.FormatInt(grace, 10),
		},
		LogPath:   fmt.Sprintf("%s/%d.log", c.Name, restarts),
		Stdin:     c.Stdin,
		StdinOnce: c.StdinOnce,
		Tty:       c.TTY,
		Linux: &runtimeapi.LinuxContainerConfig{
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{NamespaceOptions: podNamespaces(pod)},
		},
	}
}

func copyStrings(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
