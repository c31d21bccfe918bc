package endpoints

import (
	"cmp"
	"github.com/skiff/skiff/internal/controller/serviceendpoint"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxAddresses is how many addresses one Endpoints object holds; beyond
// it the object is truncated and annotated, as upstream does.
const maxAddresses = 1000

// desiredSubsets computes the subsets of svc's Endpoints from the pods its
// selector matches, packed so that addresses sharing the same ports share
// a subset, in a stable order.
func desiredSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	publishNotReady := svc.Spec.PublishNotReadyAddresses
	headlessNoPorts := len(svc.Spec.Ports) == 0 && svc.Spec.ClusterIP == corev1.ClusterIPNone
	var subsets []corev1.EndpointSubset
	for _, pod := range pods {
		if !serviceendpoint.ShouldInclude(pod, publishNotReady) {
			continue
		}
		ip := serviceendpoint.IPv4(pod)
		if ip == "" {
			continue
		}
		addr := corev1.EndpointAddress{
			IP:       ip,
			Hostname: serviceendpoint.Hostname(pod, svc),
			TargetRef: &corev1.ObjectReference{
				Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
			},
		}
		if pod.Spec.NodeName != "" {
			n := pod.Spec.NodeName
			addr.NodeName = &n
		}
		ready := publishNotReady || serviceendpoint.Ready(pod)
		add := func(ports []corev1.EndpointPort) {
			ss := corev1.EndpointSubset{Ports: ports}
			if ready {
				ss.Addresses = []corev1.EndpointAddress{addr}
			} else {
				ss.NotReadyAddresses = []corev1.EndpointAddress{addr}
			}
			subsets = append(subsets, ss)
		}
		if headlessNoPorts {
			add(nil)
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			port, err := serviceendpoint.FindPort(pod, sp)
			if err != nil {
				continue
			}
			add([]corev1.EndpointPort{{Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol}})
		}
	}
	return repack(subsets)
}

// repack merges subsets so that each distinct set of ports appears once,
// with every address that serves exactly those ports; addresses, ports
// and subsets come out sorted.
func repack(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	type addrState struct {
		addr  corev1.EndpointAddress
		ready bool
		ports map[string]corev1.EndpointPort
	}
	byAddr := map[string]*addrState{}
	var order []string
	for _, ss := range subsets {
		for _, list := range []struct {
			addrs []corev1.EndpointAddress
			ready bool
		}{{ss.Addresses, true}, {ss.NotReadyAddresses, false}} {
			for _, a := range list.addrs {
				k := addrKey(a, list.ready)
				st, ok := byAddr[k]
				if !ok {
					st = &addrState{addr: a, ready: list.ready, ports: map[string]corev1.EndpointPort{}}
					byAddr[k] = st
					order = append(order, k)
				}
				for _, p := range ss.Ports {
					st.ports[portKey(p)] = p
				}
			}
		}
	}
	type group struct {
		ports    []corev1.EndpointPort
		ready    []corev1.EndpointAddress
		notReady []corev1.EndpointAddress
	}
	groups := map[string]*group{}
	for _, k := range order {
		st := byAddr[k]
		ports := make([]corev1.EndpointPort, 0, len(st.ports))
		for _, p := range st.ports {
			ports = append(ports, p)
		}
		slices.SortFunc(ports, func(a, b corev1.EndpointPort) int { return strings.Compare(portKey(a), portKey(b)) })
		var gk strings.Builder
		for _, p := range ports {
			gk.WriteString(portKey(p))
			gk.WriteByte(';')
		}
		g, ok := groups[gk.String()]
		if !ok {
			g = &group{ports: ports}
			groups[gk.String()] = g
		}
		if st.ready {
			g.ready = append(g.ready, st.addr)
		} else {
			g.notReady = append(g.notReady, st.addr)
		}
	}
	out := make([]corev1.EndpointSubset, 0, len(groups))
	for _, g := range groups {
		slices.SortFunc(g.ready, compareAddr)
		slices.SortFunc(g.notReady, compareAddr)
		ss := corev1.EndpointSubset{Addresses: g.ready, NotReadyAddresses: g.notReady}
		if len(g.ports) > 0 {
			ss.Ports = g.ports
		}
		out = append(out, ss)
	}
	slices.SortFunc(out, func(a, b corev1.EndpointSubset) int {
		return strings.Compare(subsetKey(a), subsetKey(b))
	})
	return out
}

// truncate caps the subsets at max addresses, ready ones kept first, and
// reports whether anything was dropped.
func truncate(subsets []corev1.EndpointSubset, limit int) ([]corev1.EndpointSubset, bool) {
	total := 0
	for _, ss := range subsets {
		total += len(ss.Addresses) + len(ss.NotReadyAddresses)
	}
	if total <= limit {
		return subsets, false
	}
	left := limit
	out := make([]corev1.EndpointSubset, 0, len(subsets))
	for _, ss := range subsets {
		n := min(len(ss.Addresses), left)
		ss.Addresses = ss.Addresses[:n]
		left -= n
		out = append(out, ss)
	}
	for i := range out {
		n := min(len(out[i].NotReadyAddresses), left)
		out[i].NotReadyAddresses = out[i].NotReadyAddresses[:n]
		left -= n
	}
	return slices.DeleteFunc(out, func(ss corev1.EndpointSubset) bool {
		return len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0
	}), true
}

func addrKey(a corev1.EndpointAddress, ready bool) string {
	uid := ""
	if a.TargetRef != nil {
		uid = string(a.TargetRef.UID)
	}
	return a.IP + "|" + uid + "|" + strconv.FormatBool(ready)
}

func portKey(p corev1.EndpointPort) string {
	ap := ""
	if p.AppProtocol != nil {
		ap = *p.AppProtocol
	}
	return p.Name + "|" + strconv.Itoa(int(p.Port)) + "|" + string(p.Protocol) + "|" + ap
}

func compareAddr(a, b corev1.EndpointAddress) int {
	if c := compareIP(a.IP, b.IP); c != 0 {
		return c
	}
	var ua, ub string
	if a.TargetRef != nil {
		ua = string(a.TargetRef.UID)
	}
	if b.TargetRef != nil {
		ub = string(b.TargetRef.UID)
	}
	return strings.Compare(ua, ub)
}

// compareIP orders dotted IPv4 addresses numerically, anything else as
// strings.
func compareIP(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	if len(pa) == 4 && len(pb) == 4 {
		for i := range 4 {
			x, _ := strconv.Atoi(pa[i])
			y, _ := strconv.Atoi(pb[i])
			if c := cmp.Compare(x, y); c != 0 {
				return c
			}
		}
		return 0
	}
	return strings.Compare(a, b)
}

func subsetKey(ss corev1.EndpointSubset) string {
	var b strings.Builder
	for _, p := range ss.Ports {
		b.WriteString(portKey(p))
		b.WriteByte(';')
	}
	return b.String()
}
