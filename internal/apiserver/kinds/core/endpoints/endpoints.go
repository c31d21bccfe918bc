// Package endpoints is the strategy of core/v1 Endpoints.
package endpoints

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// DeprecationWarning is the warning upstream (1.33+) attaches to every
// request for v1 Endpoints; the API server should send it on reads too.
const DeprecationWarning = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"

// maxShown is how many addresses the ENDPOINTS column lists.
const maxShown = 3

// Kind returns the Endpoints kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("Endpoints"),
		Resource:   "endpoints",
		Singular:   "endpoints",
		Namespaced: true,
		ShortNames: []string{"ep"},
		New:        func() runtime.Object { return &corev1.Endpoints{} },
		NewList:    func() runtime.Object { return &corev1.EndpointsList{} },
		Strategy: kinds.Strategy{
			Default:  func(obj runtime.Object) { Default(obj.(*corev1.Endpoints)) },
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.Endpoints)) },
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Endpoints))
			},
			Warnings: func(runtime.Object) []string { return []string{DeprecationWarning} },
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Endpoints", "string", 0, corev1.Endpoints{}.SwaggerDoc()["subsets"]),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				ep := obj.(*corev1.Endpoints)
				return []interface{}{ep.Name, Format(ep), kinds.Age(ep.CreationTimestamp, now)}
			},
		},
	}
}

// Default sets port protocol TCP.
func Default(ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			if ep.Subsets[i].Ports[j].Protocol == "" {
				ep.Subsets[i].Ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

// Validate checks addresses, ports and port names of every subset.
func Validate(ep *corev1.Endpoints) field.ErrorList {
	var errs field.ErrorList
	for i, ss := range ep.Subsets {
		p := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range ss.Addresses {
			errs = append(errs, validateAddress(a, p.Child("addresses").Index(j))...)
		}
		for j, a := range ss.NotReadyAddresses {
			errs = append(errs, validateAddress(a, p.Child("notReadyAddresses").Index(j))...)
		}
		for j, port := range ss.Ports {
			pp := p.Child("ports").Index(j)
			if len(ss.Ports) > 1 && port.Name == "" {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			} else if port.Name != "" {
				for _, msg := range validation.IsDNS1123Label(port.Name) {
					errs = append(errs, field.Invalid(pp.Child("name"), port.Name, msg))
				}
			}
			for _, msg := range validation.IsValidPortNum(int(port.Port)) {
				errs = append(errs, field.Invalid(pp.Child("port"), port.Port, msg))
			}
			errs = append(errs, podspec.ValidateProtocol(port.Protocol, pp.Child("protocol"))...)
		}
	}
	return errs
}

func validateAddress(a corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if net.ParseIP(a.IP) == nil {
		errs = append(errs, field.Invalid(fldPath.Child("ip"), a.IP, "must be a valid IP address"))
	}
	if a.Hostname != "" {
		for _, msg := range validation.IsDNS1123Label(a.Hostname) {
			errs = append(errs, field.Invalid(fldPath.Child("hostname"), a.Hostname, msg))
		}
	}
	return errs
}

// Format renders the ENDPOINTS column: up to three ip:port pairs (bare IPs
// for subsets without ports), then " + N more...".
func Format(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	var list []string
	more := false
	count := 0
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) == maxShown {
					more = true
					break
				}
				list = append(list, a.IP)
			}
			continue
		}
		for _, port := range ss.Ports {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				if len(list) == maxShown {
					more = true
					break
				}
				list = append(list, net.JoinHostPort(a.IP, strconv.Itoa(int(port.Port))))
			}
		}
	}
	s := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", s, count-maxShown)
	}
	return s
}
