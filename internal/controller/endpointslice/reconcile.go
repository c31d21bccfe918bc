package endpointslice

import (
	"github.com/skiff/skiff/internal/controller/serviceendpoint"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and values the controller puts on its slices, as upstream's.
const (
	// ManagedBy is the endpointslice.kubernetes.io/managed-by value.
	ManagedBy = "endpointslice-controller.k8s.io"
	// MaxEndpointsPerSlice is upstream's --max-endpoints-per-slice default.
	MaxEndpointsPerSlice = 100
)

// group is the desired endpoints that share one set of ports.
type group struct {
	ports     []discoveryv1.EndpointPort
	endpoints []discoveryv1.Endpoint // sorted by endpointKey
}

// desiredGroups computes the endpoints of svc's pods, grouped by their
// resolved ports and keyed by portsKey.
func desiredGroups(svc *corev1.Service, pods []*corev1.Pod, zoneOf func(node string) string) map[string]*group {
	groups := map[string]*group{}
	for _, pod := range pods {
		if !serviceendpoint.ShouldInclude(pod, true) {
			continue
		}
		ip := serviceendpoint.IPv4(pod)
		if ip == "" {
			continue
		}
		var ports []discoveryv1.EndpointPort
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			num, err := serviceendpoint.FindPort(pod, sp)
			if err != nil {
				continue
			}
			ports = append(ports, discoveryv1.EndpointPort{
				Name: ptr(sp.Name), Port: ptr(num), Protocol: ptr(sp.Protocol), AppProtocol: sp.AppProtocol,
			})
		}
		serving := serviceendpoint.Ready(pod)
		terminating := pod.DeletionTimestamp != nil
		ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
		ep := discoveryv1.Endpoint{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if h := serviceendpoint.Hostname(pod, svc); h != "" {
			ep.Hostname = ptr(h)
		}
		if pod.Spec.NodeName != "" {
			ep.NodeName = ptr(pod.Spec.NodeName)
			if z := zoneOf(pod.Spec.NodeName); z != "" {
				ep.Zone = ptr(z)
			}
		}
		k := portsKey(ports)
		g, ok := groups[k]
		if !ok {
			if ports == nil {
				ports = []discoveryv1.EndpointPort{}
			}
			g = &group{ports: ports}
			groups[k] = g
		}
		g.endpoints = append(g.endpoints, ep)
	}
	for _, g := range groups {
		slices.SortFunc(g.endpoints, func(a, b discoveryv1.Endpoint) int { return strings.Compare(endpointKey(a), endpointKey(b)) })
	}
	return groups
}

// plan is what sync must write: slices to create (names left to the
// server), to update and to delete.
type plan struct {
	create []*discoveryv1.EndpointSlice
	update []*discoveryv1.EndpointSlice
	delete []*discoveryv1.EndpointSlice
}

// planSlices works out how to turn existing (the slices the controller
// manages for svc) into slices holding exactly the desired endpoints,
// touching as few slices as it can: endpoints stay in the slice that
// holds them, new ones fill slices already being written before new
// slices are made, and a slice to delete is reused rather than deleting
// one slice and creating another. With no endpoints at all one empty
// placeholder slice remains. existing is not modified; triggerTime, when
// non-zero, is stamped on every slice written.
func planSlices(svc *corev1.Service, existing []*discoveryv1.EndpointSlice, desired map[string]*group, triggerTime time.Time) plan {
	var p plan
	wantLabels := sliceLabels(svc)
	owned := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		k := portsKey(s.Ports)
		if s.AddressType != discoveryv1.AddressTypeIPv4 || !ownedBy(s, svc) || desired[k] == nil {
			p.delete = append(p.delete, s)
			continue
		}
		owned[k] = append(owned[k], s)
	}

	total := 0
	for _, g := range desired {
		total += len(g.endpoints)
	}
	if total == 0 {
		return placeholderPlan(svc, p.delete, wantLabels, triggerTime)
	}

	for _, k := range slices.Sorted(maps.Keys(desired)) {
		g := desired[k]
		want := make(map[string]discoveryv1.Endpoint, len(g.endpoints))
		for _, ep := range g.endpoints {
			want[endpointKey(ep)] = ep
		}
		placed := map[string]bool{}
		var updating, unchanged []*discoveryv1.EndpointSlice
		for _, s := range owned[k] {
			var kept []discoveryv1.Endpoint
			changed := false
			for _, ep := range s.Endpoints {
				ek := endpointKey(ep)
				d, ok := want[ek]
				if !ok || placed[ek] {
					changed = true
					continue
				}
				placed[ek] = true
				if !equality.Semantic.DeepEqual(d, ep) {
					changed = true
				}
				kept = append(kept, d)
			}
			switch {
			case len(kept) == 0:
				p.delete = append(p.delete, s)
			case changed || !maps.Equal(s.Labels, wantLabels):
				n := s.DeepCopy()
				n.Endpoints = kept
				updating = append(updating, n)
			default:
				unchanged = append(unchanged, s)
			}
		}
		var missing []discoveryv1.Endpoint
		for _, ep := range g.endpoints {
			if !placed[endpointKey(ep)] {
				missing = append(missing, ep)
			}
		}
		// Fill slices already being written, then untouched ones.
		for _, s := range updating {
			n := min(MaxEndpointsPerSlice-len(s.Endpoints), len(missing))
			if n > 0 {
				s.Endpoints = append(s.Endpoints, missing[:n]...)
				missing = missing[n:]
			}
		}
		slices.SortStableFunc(unchanged, func(a, b *discoveryv1.EndpointSlice) int { return len(b.Endpoints) - len(a.Endpoints) })
		for _, s := range unchanged {
			if len(missing) == 0 {
				break
			}
			if n := min(MaxEndpointsPerSlice-len(s.Endpoints), len(missing)); n > 0 {
				c := s.DeepCopy()
				c.Endpoints = append(c.Endpoints, missing[:n]...)
				missing = missing[n:]
				updating = append(updating, c)
			}
		}
		for len(missing) > 0 {
			n := min(MaxEndpointsPerSlice, len(missing))
			p.create = append(p.create, newSlice(svc, g.ports, missing[:n]))
			missing = missing[n:]
		}
		p.update = append(p.update, updating...)
	}

	// Reuse slices due for deletion instead of creating new ones.
	for len(p.create) > 0 && len(p.delete) > 0 {
		c, d := p.create[0], p.delete[0]
		p.create, p.delete = p.create[1:], p.delete[1:]
		n := d.DeepCopy()
		n.OwnerReferences = c.OwnerReferences
		n.AddressType = c.AddressType
		n.Ports = c.Ports
		n.Endpoints = c.Endpoints
		p.update = append(p.update, n)
	}
	for _, s := range p.create {
		finish(s, wantLabels, triggerTime)
	}
	for _, s := range p.update {
		finish(s, wantLabels, triggerTime)
	}
	return p
}

// placeholderPlan keeps (or makes) the single empty slice of a Service
// with no endpoints and deletes the rest.
func placeholderPlan(svc *corev1.Service, candidates []*discoveryv1.EndpointSlice, wantLabels map[string]string, triggerTime time.Time) plan {
	var p plan
	keep := -1
	for i, s := range candidates {
		if ownedBy(s, svc) && s.AddressType == discoveryv1.AddressTypeIPv4 && len(s.Endpoints) == 0 && len(s.Ports) == 0 {
			keep = i
			break
		}
	}
	switch {
	case keep >= 0:
		s := candidates[keep]
		if !maps.Equal(s.Labels, wantLabels) {
			n := s.DeepCopy()
			finish(n, wantLabels, triggerTime)
			p.update = append(p.update, n)
		}
	case len(candidates) > 0:
		keep = 0
		n := candidates[0].DeepCopy()
		ph := newSlice(svc, []discoveryv1.EndpointPort{}, nil)
		n.OwnerReferences, n.AddressType, n.Ports, n.Endpoints = ph.OwnerReferences, ph.AddressType, ph.Ports, ph.Endpoints
		finish(n, wantLabels, triggerTime)
		p.update = append(p.update, n)
	default:
		s := newSlice(svc, []discoveryv1.EndpointPort{}, nil)
		finish(s, wantLabels, triggerTime)
		p.create = append(p.create, s)
	}
	for i, s := range candidates {
		if i != keep {
			p.delete = append(p.delete, s)
		}
	}
	return p
}

func newSlice(svc *corev1.Service, ports []discoveryv1.EndpointPort, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	if eps == nil {
		eps = []discoveryv1.Endpoint{}
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: svc.Name + "-",
			Namespace:    svc.Namespace,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true),
			}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       slices.Clone(ports),
		Endpoints:   slices.Clone(eps),
	}
}

// finish sets the labels and the trigger-time annotation of a slice about
// to be written.
func finish(s *discoveryv1.EndpointSlice, labels map[string]string, triggerTime time.Time) {
	s.Labels = maps.Clone(labels)
	if triggerTime.IsZero() {
		return
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[corev1.EndpointsLastChangeTriggerTime] = triggerTime.UTC().Format(time.RFC3339Nano)
}

// sliceLabels returns the labels of svc's slices: the Service's own, the
// service name, the manager and, for headless Services, the headless mark.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+3)
	for k, v := range svc.Labels {
		switch k {
		case discoveryv1.LabelServiceName, discoveryv1.LabelManagedBy, corev1.IsHeadlessService:
		default:
			out[k] = v
		}
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = ManagedBy
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[corev1.IsHeadlessService] = ""
	}
	return out
}

// ownedBy reports whether s's controller is svc.
func ownedBy(s *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	for _, r := range s.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return r.UID == svc.UID && r.Kind == "Service" && r.APIVersion == "v1"
		}
	}
	return false
}

// portsKey identifies a list of ports, in order.
func portsKey(ports []discoveryv1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		if p.Name != nil {
			b.WriteString(*p.Name)
		}
		b.WriteByte('|')
		if p.Port != nil {
			b.WriteString(strconv.Itoa(int(*p.Port)))
		}
		b.WriteByte('|')
		if p.Protocol != nil {
			b.WriteString(string(*p.Protocol))
		}
		b.WriteByte('|')
		if p.AppProtocol != nil {
			b.WriteString(*p.AppProtocol)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// endpointKey identifies an endpoint across syncs: its addresses and the
// pod it stands for.
func endpointKey(ep discoveryv1.Endpoint) string {
	k := strings.Join(ep.Addresses, ",")
	if r := ep.TargetRef; r != nil {
		k += "|" + r.Namespace + "/" + r.Name
	}
	return k
}

func ptr[T any](v T) *T { return &v }
