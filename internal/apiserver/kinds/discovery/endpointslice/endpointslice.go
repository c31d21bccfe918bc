// Package endpointslice is the strategy of discovery.k8s.io/v1
// EndpointSlices.
package endpointslice

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

const (
	maxTopologyLabels = 16
	maxAddresses      = 100
	maxPorts          = 20000
	maxEndpoints      = 1000
	maxHints          = 8
)

// Kind returns the EndpointSlice kind.
func Kind() kinds.Kind {
	doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
	return kinds.Kind{
		GVK:              discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"),
		Resource:         "endpointslices",
		Singular:         "endpointslice",
		Namespaced:       true,
		TracksGeneration: true,
		New:              func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList:          func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
		Strategy: kinds.Strategy{
			Default:  defaults,
			Validate: func(obj runtime.Object) field.ErrorList { return validate(obj.(*discoveryv1.EndpointSlice)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				s, o := obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice)
				return append(validate(s), apivalidation.ValidateImmutableField(s.AddressType, o.AddressType, field.NewPath("addressType"))...)
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("AddressType", "string", 0, doc["addressType"]),
				kinds.Column("Ports", "string", 0, doc["ports"]),
				kinds.Column("Endpoints", "string", 0, doc["endpoints"]),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				s := obj.(*discoveryv1.EndpointSlice)
				return []interface{}{s.Name, string(s.AddressType), formatPorts(s.Ports), formatEndpoints(s.Endpoints), kinds.Age(s.CreationTimestamp, now)}
			},
		},
	}
}

func defaults(obj runtime.Object) {
	s := obj.(*discoveryv1.EndpointSlice)
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Name == nil {
			p.Name = new(string)
		}
		if p.Protocol == nil {
			tcp := corev1.ProtocolTCP
			p.Protocol = &tcp
		}
	}
}

// listWithMore joins at most max items of a list of count, as kubectl does.
func listWithMore(list []string, count, max int) string {
	s := strings.Join(list, ",")
	if count > max {
		return fmt.Sprintf("%s + %d more...", s, count-max)
	}
	if s == "" {
		return "<unset>"
	}
	return s
}

func formatPorts(ports []discoveryv1.EndpointPort) string {
	const max = 3
	var list []string
	for _, p := range ports {
		if len(list) == max {
			break
		}
		switch {
		case p.Port != nil:
			list = append(list, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			list = append(list, *p.Name)
		default:
			list = append(list, "*")
		}
	}
	return listWithMore(list, len(ports), max)
}

func formatEndpoints(endpoints []discoveryv1.Endpoint) string {
	const max = 3
	var list []string
	count := 0
	for _, ep := range endpoints {
		for _, a := range ep.Addresses {
			if len(list) < max {
				list = append(list, a)
			}
			count++
		}
	}
	return listWithMore(list, count, max)
}

func validate(s *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	ap := field.NewPath("addressType")
	switch s.AddressType {
	case "":
		errs = append(errs, field.Required(ap, ""))
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN:
	default:
		errs = append(errs, field.NotSupported(ap, s.AddressType, []string{"FQDN", "IPv4", "IPv6"}))
	}
	errs = append(errs, validateEndpoints(s.Endpoints, s.AddressType, field.NewPath("endpoints"))...)
	return append(errs, validatePorts(s.Ports, field.NewPath("ports"))...)
}

func validateEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i, ep := range endpoints {
		p := fldPath.Index(i)
		ap := p.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxAddresses {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), maxAddresses))
		}
		for j, a := range ep.Addresses {
			switch addrType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				errs = append(errs, validateEndpointIP(a, addrType, ap.Index(j))...)
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, validation.IsFullyQualifiedDomainName(ap.Index(j), a)...)
			}
		}
		if ep.NodeName != nil {
			for _, msg := range apivalidation.NameIsDNSSubdomain(*ep.NodeName, false) {
				errs = append(errs, field.Invalid(p.Child("nodeName"), *ep.NodeName, msg))
			}
		}
		tp := p.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(tp, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, tp)...)
		if ep.Hostname != nil {
			for _, msg := range validation.IsDNS1123Label(*ep.Hostname) {
				errs = append(errs, field.Invalid(p.Child("hostname"), *ep.Hostname, msg))
			}
		}
		if ep.Hints != nil {
			errs = append(errs, validateHints(ep.Hints, p.Child("hints"))...)
		}
	}
	return errs
}

// validateEndpointIP checks an address of the slice's family and rejects
// the ranges no endpoint may have.
func validateEndpointIP(addr string, family discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if errs := validation.IsValidIPForLegacyField(fldPath, addr, false, nil); len(errs) > 0 {
		return errs
	}
	ip := netutils.ParseIPSloppy(addr)
	var errs field.ErrorList
	if is4 := ip.To4() != nil; family == discoveryv1.AddressTypeIPv4 && !is4 {
		errs = append(errs, field.Invalid(fldPath, addr, "must be an IPv4 address"))
	} else if family == discoveryv1.AddressTypeIPv6 && is4 {
		errs = append(errs, field.Invalid(fldPath, addr, "must be an IPv6 address"))
	}
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(fldPath, addr, fmt.Sprintf("may not be unspecified (%v)", addr)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(fldPath, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(fldPath, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(fldPath, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

func validateHints(h *discoveryv1.EndpointHints, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	zp := fldPath.Child("forZones")
	if len(h.ForZones) > maxHints {
		errs = append(errs, field.TooMany(zp, len(h.ForZones), maxHints))
	} else {
		seen := sets.New[string]()
		for i, z := range h.ForZones {
			np := zp.Index(i).Child("name")
			if seen.Has(z.Name) {
				errs = append(errs, field.Duplicate(np, z.Name))
			}
			seen.Insert(z.Name)
			for _, msg := range validation.IsValidLabelValue(z.Name) {
				errs = append(errs, field.Invalid(np, z.Name, msg))
			}
		}
	}
	np := fldPath.Child("forNodes")
	if len(h.ForNodes) > maxHints {
		errs = append(errs, field.TooMany(np, len(h.ForNodes), maxHints))
	} else {
		seen := sets.New[string]()
		for i, n := range h.ForNodes {
			p := np.Index(i).Child("name")
			if seen.Has(n.Name) {
				errs = append(errs, field.Duplicate(p, n.Name))
			}
			seen.Insert(n.Name)
			for _, msg := range apivalidation.NameIsDNSSubdomain(n.Name, false) {
				errs = append(errs, field.Invalid(p, n.Name, msg))
			}
		}
	}
	return errs
}

func validatePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			for _, msg := range validation.IsDNS1123Label(name) {
				errs = append(errs, field.Invalid(p.Child("name"), name, msg))
			}
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		names.Insert(name)
		switch {
		case port.Protocol == nil:
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		case *port.Protocol != corev1.ProtocolTCP && *port.Protocol != corev1.ProtocolUDP && *port.Protocol != corev1.ProtocolSCTP:
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, []string{"SCTP", "TCP", "UDP"}))
		}
		if port.AppProtocol != nil {
			for _, msg := range validation.IsQualifiedName(*port.AppProtocol) {
				errs = append(errs, field.Invalid(p.Child("appProtocol"), *port.AppProtocol, msg))
			}
		}
	}
	return errs
}
