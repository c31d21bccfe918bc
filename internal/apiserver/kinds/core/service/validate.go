package service

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// maxClientIPAffinitySeconds is the longest ClientIP affinity (one day).
const maxClientIPAffinitySeconds = 86400

// Validate validates a defaulted Service.
func Validate(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	s := &svc.Spec
	specPath := field.NewPath("spec")
	headless := s.ClusterIP == corev1.ClusterIPNone
	portsPath := specPath.Child("ports")

	if len(s.Ports) == 0 && !headless && s.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(portsPath, ""))
	}
	if s.Type == corev1.ServiceTypeExternalName {
		if len(s.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		name := strings.TrimSuffix(s.ExternalName, ".")
		if name == "" {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		} else {
			for _, msg := range validation.IsDNS1123Subdomain(name) {
				errs = append(errs, field.Invalid(specPath.Child("externalName"), s.ExternalName, msg))
			}
		}
	}

	names := sets.New[string]()
	seen := map[string]bool{}
	nodePorts := map[string]bool{}
	for i := range s.Ports {
		p := &s.Ports[i]
		pp := portsPath.Index(i)
		errs = append(errs, validatePort(p, len(s.Ports) > 1, names, pp)...)
		key := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if seen[key] {
			errs = append(errs, field.Duplicate(pp, key))
		}
		seen[key] = true
		if p.NodePort != 0 {
			for _, msg := range validation.IsValidPortNum(int(p.NodePort)) {
				errs = append(errs, field.Invalid(pp.Child("nodePort"), p.NodePort, msg))
			}
			nk := fmt.Sprintf("%d/%s", p.NodePort, p.Protocol)
			if nodePorts[nk] {
				errs = append(errs, field.Duplicate(pp.Child("nodePort"), p.NodePort))
			}
			nodePorts[nk] = true
			if s.Type == corev1.ServiceTypeClusterIP {
				errs = append(errs, field.Forbidden(pp.Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}

	if s.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(s.Selector, specPath.Child("selector"))...)
	}

	switch s.SessionAffinity {
	case corev1.ServiceAffinityNone:
	case corev1.ServiceAffinityClientIP:
		c := s.SessionAffinityConfig
		cp := specPath.Child("sessionAffinityConfig")
		if c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			errs = append(errs, field.Required(cp, "when session affinity type is ClientIP"))
		} else if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPAffinitySeconds {
			errs = append(errs, field.Invalid(cp.Child("clientIP", "timeoutSeconds"), t, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds)))
		}
	case "":
		errs = append(errs, field.Required(specPath.Child("sessionAffinity"), ""))
	default:
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), s.SessionAffinity, []string{"ClientIP", "None"}))
	}

	errs = append(errs, validateClusterIPs(s, specPath)...)
	for i, ip := range s.ExternalIPs {
		if net.ParseIP(ip) == nil {
			errs = append(errs, field.Invalid(specPath.Child("externalIPs").Index(i), ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"))
		}
	}

	switch s.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	case "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(specPath.Child("type"), s.Type, []string{"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}))
	}

	external := s.Type == corev1.ServiceTypeNodePort || s.Type == corev1.ServiceTypeLoadBalancer
	etp := specPath.Child("externalTrafficPolicy")
	switch {
	case !external && s.ExternalTrafficPolicy != "":
		errs = append(errs, field.Invalid(etp, s.ExternalTrafficPolicy, "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
	case external && s.ExternalTrafficPolicy == "":
		errs = append(errs, field.Required(etp, ""))
	case external && s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster && s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal:
		errs = append(errs, field.NotSupported(etp, s.ExternalTrafficPolicy, []string{"Cluster", "Local"}))
	}
	if s.HealthCheckNodePort != 0 && !(s.Type == corev1.ServiceTypeLoadBalancer && s.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal) {
		errs = append(errs, field.Invalid(specPath.Child("healthCheckNodePort"), s.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
	}
	if s.Type != corev1.ServiceTypeExternalName {
		itp := specPath.Child("internalTrafficPolicy")
		switch {
		case s.InternalTrafficPolicy == nil:
			errs = append(errs, field.Required(itp, ""))
		case *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster && *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal:
			errs = append(errs, field.NotSupported(itp, *s.InternalTrafficPolicy, []string{"Cluster", "Local"}))
		}
	}
	if s.IPFamilyPolicy != nil {
		switch *s.IPFamilyPolicy {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
		default:
			errs = append(errs, field.NotSupported(specPath.Child("ipFamilyPolicy"), *s.IPFamilyPolicy, []string{"PreferDualStack", "RequireDualStack", "SingleStack"}))
		}
	}
	for i, f := range s.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			errs = append(errs, field.NotSupported(specPath.Child("ipFamilies").Index(i), f, []string{"IPv4", "IPv6"}))
		}
	}
	return errs
}

func validatePort(p *corev1.ServicePort, requireName bool, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && p.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else if p.Name != "" {
		for _, msg := range validation.IsDNS1123Label(p.Name) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), p.Name, msg))
		}
		if names.Has(p.Name) {
			errs = append(errs, field.Duplicate(fldPath.Child("name"), p.Name))
		}
		names.Insert(p.Name)
	}
	for _, msg := range validation.IsValidPortNum(int(p.Port)) {
		errs = append(errs, field.Invalid(fldPath.Child("port"), p.Port, msg))
	}
	errs = append(errs, podspec.ValidateProtocol(p.Protocol, fldPath.Child("protocol"))...)
	tp := fldPath.Child("targetPort")
	switch p.TargetPort.Type {
	case intstr.Int:
		for _, msg := range validation.IsValidPortNum(p.TargetPort.IntValue()) {
			errs = append(errs, field.Invalid(tp, p.TargetPort.IntValue(), msg))
		}
	case intstr.String:
		for _, msg := range validation.IsValidPortName(p.TargetPort.StrVal) {
			errs = append(errs, field.Invalid(tp, p.TargetPort.StrVal, msg))
		}
	}
	if p.AppProtocol != nil {
		for _, msg := range validation.IsQualifiedName(*p.AppProtocol) {
			errs = append(errs, field.Invalid(fldPath.Child("appProtocol"), *p.AppProtocol, msg))
		}
	}
	return errs
}

func validateClusterIPs(s *corev1.ServiceSpec, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	ipsPath := specPath.Child("clusterIPs")
	if len(s.ClusterIPs) > 0 && s.ClusterIP != s.ClusterIPs[0] {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "first value must match `clusterIP`"))
	}
	if len(s.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "may only hold up to 2 values"))
	}
	for i, ip := range s.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			if i != 0 || len(s.ClusterIPs) > 1 {
				errs = append(errs, field.Invalid(ipsPath, s.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		if net.ParseIP(ip) == nil {
			errs = append(errs, field.Invalid(ipsPath.Index(i), ip, "must be empty, 'None', or a valid IP address"))
		}
	}
	return errs
}

// ValidateUpdate validates the new service and forbids changing an
// allocated cluster IP, except when switching to or from ExternalName.
func ValidateUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := Validate(svc)
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return errs
	}
	ipsPath := field.NewPath("spec", "clusterIPs")
	for i, ip := range old.Spec.ClusterIPs {
		if i < len(svc.Spec.ClusterIPs) && svc.Spec.ClusterIPs[i] != ip {
			errs = append(errs, field.Invalid(ipsPath.Index(i), svc.Spec.ClusterIPs, "may not change once set"))
		}
	}
	if len(old.Spec.ClusterIPs) > 0 && len(svc.Spec.ClusterIPs) == 0 {
		errs = append(errs, field.Invalid(ipsPath.Index(0), svc.Spec.ClusterIPs, "primary clusterIP can not be unset"))
	}
	return errs
}
