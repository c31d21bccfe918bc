// Package service is the strategy of core/v1 Services. Cluster IP and node
// port allocation are the API server's job; this package defaults,
// validates, keeps allocated values across updates and prints.
package service

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// DefaultSessionAffinityTimeoutSeconds is the ClientIP affinity timeout
// (three hours) when none is given.
const DefaultSessionAffinityTimeoutSeconds int32 = 10800

// Kind returns the Service kind. The API server serves services/status and
// services/proxy, allocates spec.clusterIP(s) on create when empty and
// node ports for NodePort and LoadBalancer services, and frees them on
// delete.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("Service"),
		Resource:   "services",
		Singular:   "service",
		Namespaced: true,
		ShortNames: []string{"svc"},
		Categories: []string{"all"},
		New:        func() runtime.Object { return &corev1.Service{} },
		NewList:    func() runtime.Object { return &corev1.ServiceList{} },
		HasStatus:  true,
		Strategy: kinds.Strategy{
			ValidateName: apivalidation.NameIsDNS1035Label,
			Default:      func(obj runtime.Object) { Default(obj.(*corev1.Service)) },
			PrepareForUpdate: func(obj, old runtime.Object) {
				PrepareForUpdate(obj.(*corev1.Service), old.(*corev1.Service))
			},
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.Service)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.Service), old.(*corev1.Service))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Type", "string", 0, corev1.ServiceSpec{}.SwaggerDoc()["type"]),
				kinds.Column("Cluster-IP", "string", 0, corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]),
				kinds.Column("External-IP", "string", 0, corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]),
				kinds.Column("Port(s)", "string", 0, corev1.ServiceSpec{}.SwaggerDoc()["ports"]),
				kinds.AgeColumn,
				kinds.Column("Selector", "string", 1, corev1.ServiceSpec{}.SwaggerDoc()["selector"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				svc := obj.(*corev1.Service)
				clusterIP := svc.Spec.ClusterIP
				if clusterIP == "" {
					clusterIP = "<none>"
				}
				return []interface{}{
					svc.Name, string(svc.Spec.Type), clusterIP, externalIP(svc, false), PortsString(svc.Spec.Ports),
					kinds.Age(svc.CreationTimestamp, now), labels.FormatLabels(svc.Spec.Selector),
				}
			},
		},
	}
}

// Default applies upstream's Service defaults: type ClusterIP,
// sessionAffinity None (a 10800s timeout for ClientIP), port protocol TCP
// and targetPort = port, externalTrafficPolicy Cluster for NodePort and
// LoadBalancer, internalTrafficPolicy Cluster,
// allocateLoadBalancerNodePorts true, and the IP family fields of a
// single-stack IPv4 cluster (headless services without a selector get
// RequireDualStack, as upstream's allocator gives them). clusterIP and
// clusterIPs are kept in step.
func Default(svc *corev1.Service) {
	s := &svc.Spec
	if s.SessionAffinity == "" {
		s.SessionAffinity = corev1.ServiceAffinityNone
	}
	if s.SessionAffinity == corev1.ServiceAffinityNone {
		s.SessionAffinityConfig = nil
	}
	if s.SessionAffinity == corev1.ServiceAffinityClientIP &&
		(s.SessionAffinityConfig == nil || s.SessionAffinityConfig.ClientIP == nil || s.SessionAffinityConfig.ClientIP.TimeoutSeconds == nil) {
		t := DefaultSessionAffinityTimeoutSeconds
		s.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &t}}
	}
	if s.Type == "" {
		s.Type = corev1.ServiceTypeClusterIP
	}
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if (p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal == 0) ||
			(p.TargetPort.Type == intstr.String && p.TargetPort.StrVal == "") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if (s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer) && s.ExternalTrafficPolicy == "" {
		s.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if s.Type != corev1.ServiceTypeExternalName && s.InternalTrafficPolicy == nil {
		p := corev1.ServiceInternalTrafficPolicyCluster
		s.InternalTrafficPolicy = &p
	}
	if s.Type == corev1.ServiceTypeLoadBalancer && s.AllocateLoadBalancerNodePorts == nil {
		t := true
		s.AllocateLoadBalancerNodePorts = &t
	}
	if s.ClusterIP == "" && len(s.ClusterIPs) > 0 {
		s.ClusterIP = s.ClusterIPs[0]
	}
	if s.ClusterIP != "" && len(s.ClusterIPs) == 0 {
		s.ClusterIPs = []string{s.ClusterIP}
	}
	if s.Type != corev1.ServiceTypeExternalName {
		if s.IPFamilyPolicy == nil {
			p := corev1.IPFamilyPolicySingleStack
			if s.ClusterIP == corev1.ClusterIPNone && len(s.Selector) == 0 {
				p = corev1.IPFamilyPolicyRequireDualStack
			}
			s.IPFamilyPolicy = &p
		}
		if len(s.IPFamilies) == 0 {
			s.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}
	}
}

// PrepareForUpdate carries the allocated cluster IPs and node ports over
// when an update omits them (as kubectl apply and replace do), as long as
// the service type still uses them.
func PrepareForUpdate(svc, old *corev1.Service) {
	s, o := &svc.Spec, &old.Spec
	needsIP := s.Type != corev1.ServiceTypeExternalName && o.Type != corev1.ServiceTypeExternalName
	if needsIP && s.ClusterIP == "" && len(s.ClusterIPs) == 0 && o.ClusterIP != "" {
		s.ClusterIP = o.ClusterIP
		s.ClusterIPs = append([]string(nil), o.ClusterIPs...)
	}
	if needsIP && len(s.IPFamilies) == 0 {
		s.IPFamilies = o.IPFamilies
	}
	needsNodePort := s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer
	if needsNodePort {
		for i := range s.Ports {
			p := &s.Ports[i]
			if p.NodePort != 0 {
				continue
			}
			for _, op := range o.Ports {
				if op.NodePort != 0 && op.Port == p.Port && op.Protocol == p.Protocol {
					p.NodePort = op.NodePort
					break
				}
			}
		}
		if s.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal && s.HealthCheckNodePort == 0 && s.Type == corev1.ServiceTypeLoadBalancer {
			s.HealthCheckNodePort = o.HealthCheckNodePort
		}
	}
}

// PortsString formats ports as the PORT(S) column does: "80/TCP" or
// "80:30080/TCP" when a node port is set, comma-joined, "<none>" if none.
func PortsString(ports []corev1.ServicePort) string {
	if len(ports) == 0 {
		return "<none>"
	}
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		if p.NodePort > 0 {
			parts = append(parts, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		} else {
			parts = append(parts, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
	}
	return strings.Join(parts, ",")
}

// LoadBalancerString joins the ingress IPs and host names of a load
// balancer status, cut to 16 characters with "..." unless wide.
func LoadBalancerString(st corev1.LoadBalancerStatus, wide bool) string {
	var parts []string
	for _, in := range st.Ingress {
		if in.IP != "" {
			parts = append(parts, in.IP)
		} else if in.Hostname != "" {
			parts = append(parts, in.Hostname)
		}
	}
	r := strings.Join(parts, ",")
	if !wide && len(r) > 16 {
		r = r[0:13] + "..."
	}
	return r
}

func externalIP(svc *corev1.Service, wide bool) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		lb := LoadBalancerString(svc.Status.LoadBalancer, wide)
		if len(svc.Spec.ExternalIPs) > 0 {
			var all []string
			if lb != "" {
				all = append(all, strings.Split(lb, ",")...)
			}
			return strings.Join(append(all, svc.Spec.ExternalIPs...), ",")
		}
		if lb != "" {
			return lb
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}
