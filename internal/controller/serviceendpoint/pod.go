package serviceendpoint

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Ready reports whether pod's Ready condition is True.
func Ready(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ReadyTime returns when pod's Ready condition last changed, or the
// zero time.
func ReadyTime(pod *corev1.Pod) (t time.Time) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return t
}

// Terminal reports whether pod has finished for good.
func Terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// ShouldInclude reports whether pod belongs in a Service's endpoints at
// all: it has an IP, has not finished, and is not being deleted unless
// includeTerminating.
func ShouldInclude(pod *corev1.Pod, includeTerminating bool) bool {
	if Terminal(pod) {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	return includeTerminating || pod.DeletionTimestamp == nil
}

// IPv4 returns the pod's first IPv4 address, or "".
func IPv4(pod *corev1.Pod) string {
	for _, ip := range pod.Status.PodIPs {
		if IsIPv4(ip.IP) {
			return ip.IP
		}
	}
	if IsIPv4(pod.Status.PodIP) {
		return pod.Status.PodIP
	}
	return ""
}

func IsIPv4(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return false
		}
	}
	return true
}

// FindPort resolves the target port of svcPort in pod: a number is used
// as is, a name is looked up among the pod's container ports of the same
// protocol.
func FindPort(pod *corev1.Pod, svcPort *corev1.ServicePort) (int32, error) {
	tp := svcPort.TargetPort
	switch tp.Type {
	case intstr.String:
		name := tp.StrVal
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name && p.Protocol == svcPort.Protocol {
					return p.ContainerPort, nil
				}
			}
		}
	case intstr.Int:
		if tp.IntVal != 0 {
			return tp.IntVal, nil
		}
		return svcPort.Port, nil
	}
	return 0, fmt.Errorf("no suitable port for manifest: %s", pod.UID)
}

// Hostname returns the hostname pod publishes in svc: its
// spec.hostname when its subdomain is the Service's name.
func Hostname(pod *corev1.Pod, svc *corev1.Service) string {
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		return pod.Spec.Hostname
	}
	return ""
}
