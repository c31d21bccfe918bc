// Package node is the strategy of core/v1 Nodes.
package node

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Label keys kubectl reads a node's roles from.
const (
	roleLabelPrefix = "node-role.kubernetes.io/"
	roleLabel       = "kubernetes.io/role"
)

// Kind returns the Node kind. Nodes keep the status a client creates them
// with (the node agent registers with its status). The API server serves
// nodes/status and nodes/proxy.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:                corev1.SchemeGroupVersion.WithKind("Node"),
		Resource:           "nodes",
		Singular:           "node",
		ShortNames:         []string{"no"},
		New:                func() runtime.Object { return &corev1.Node{} },
		NewList:            func() runtime.Object { return &corev1.NodeList{} },
		HasStatus:          true,
		KeepStatusOnCreate: true,
		Strategy: kinds.Strategy{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.Node)) },
			PrepareForCreate: func(obj runtime.Object) {
				n := obj.(*corev1.Node)
				n.Spec.ConfigSource = nil //nolint:staticcheck // dropped field, cleared as upstream does
				n.Status.Config = nil
			},
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.Node)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.Node), old.(*corev1.Node))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Status", "string", 0, "The status of the node"),
				kinds.Column("Roles", "string", 0, "The roles of the node"),
				kinds.AgeColumn,
				kinds.Column("Version", "string", 0, corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]),
				kinds.Column("Internal-IP", "string", 1, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
				kinds.Column("External-IP", "string", 1, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
				kinds.Column("OS-Image", "string", 1, corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"]),
				kinds.Column("Kernel-Version", "string", 1, corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"]),
				kinds.Column("Container-Runtime", "string", 1, corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"]),
			},
			Row: row,
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
			},
		},
	}
}

// Default sets status.allocatable to the capacity when only capacity is given.
func Default(n *corev1.Node) {
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	}
	podspec.DefaultResourceList(n.Status.Capacity)
	podspec.DefaultResourceList(n.Status.Allocatable)
}

// Validate checks taints, pod CIDRs and resource quantities.
func Validate(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	errs = append(errs, validateTaints(n.Spec.Taints, specPath.Child("taints"))...)
	cidrPath := specPath.Child("podCIDRs")
	v4, v6 := 0, 0
	for i, c := range n.Spec.PodCIDRs {
		ip, _, err := net.ParseCIDR(c)
		if err != nil {
			errs = append(errs, field.Invalid(cidrPath.Index(i), c, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
			continue
		}
		if ip.To4() != nil {
			v4++
		} else {
			v6++
		}
	}
	if len(n.Spec.PodCIDRs) > 2 || v4 > 1 || v6 > 1 {
		errs = append(errs, field.Invalid(cidrPath, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	if len(n.Spec.PodCIDRs) > 0 && n.Spec.PodCIDR != n.Spec.PodCIDRs[0] {
		errs = append(errs, field.Invalid(specPath.Child("podCIDR"), n.Spec.PodCIDR, "must match the first element of podCIDRs"))
	}
	for _, rl := range []struct {
		name string
		l    corev1.ResourceList
	}{{"capacity", n.Status.Capacity}, {"allocatable", n.Status.Allocatable}} {
		for name, q := range rl.l {
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(field.NewPath("status", rl.name).Key(string(name)), q.String(), "must be greater than or equal to 0"))
			}
		}
	}
	return errs
}

// ValidateUpdate validates the node and allows podCIDRs and providerID to
// change only from empty.
func ValidateUpdate(n, old *corev1.Node) field.ErrorList {
	errs := Validate(n)
	if len(old.Spec.PodCIDRs) > 0 {
		changed := len(old.Spec.PodCIDRs) != len(n.Spec.PodCIDRs)
		for i := 0; !changed && i < len(old.Spec.PodCIDRs); i++ {
			changed = old.Spec.PodCIDRs[i] != n.Spec.PodCIDRs[i]
		}
		if changed {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
		}
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

func validateTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, t := range taints {
		p := fldPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, msg))
		}
		errs = append(errs, podspec.ValidateTaintEffect(t.Effect, p.Child("effect"))...)
		k := t.Key + ":" + string(t.Effect)
		if seen[k] {
			errs = append(errs, field.Invalid(p, t, "taints must be unique by key and effect pair"))
		}
		seen[k] = true
	}
	return errs
}

func row(obj runtime.Object, now time.Time) []interface{} {
	n := obj.(*corev1.Node)
	var status []string
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			status = append(status, string(c.Type))
		} else {
			status = append(status, "Not"+string(c.Type))
		}
		break
	}
	if len(status) == 0 {
		status = append(status, "Unknown")
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}
	roles := strings.Join(Roles(n), ",")
	if roles == "" {
		roles = "<none>"
	}
	info := n.Status.NodeInfo
	return []interface{}{
		n.Name, strings.Join(status, ","), roles, kinds.Age(n.CreationTimestamp, now), info.KubeletVersion,
		address(n, corev1.NodeInternalIP), address(n, corev1.NodeExternalIP),
		orUnknown(info.OSImage), orUnknown(info.KernelVersion), orUnknown(info.ContainerRuntimeVersion),
	}
}

// Roles returns the node's roles, sorted: the suffixes of its
// node-role.kubernetes.io/<role> labels and the kubernetes.io/role value.
func Roles(n *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, roleLabelPrefix):
			if r := strings.TrimPrefix(k, roleLabelPrefix); r != "" {
				set[r] = true
			}
		case k == roleLabel && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

func address(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
