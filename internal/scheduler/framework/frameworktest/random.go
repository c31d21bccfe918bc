package frameworktest

import (
	"fmt"
	"math/rand/v2"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Random builds small random clusters for property tests: a few label
// keys and values, so that selectors often match; three namespaces with
// labels; nodes with and without topology labels and taints; pods with
// random labels, some being deleted, some with affinity terms.
type Random struct{ R *rand.Rand }

// Vocabulary of the random clusters.
var (
	randomKeys    = []string{"app", "tier", "group"}
	randomValues  = []string{"a", "b", "c"}
	randomNSNames = []string{"default", "ns1", "ns2"}
	// RandomTopologyKeys are the node labels the random nodes may carry.
	RandomTopologyKeys = []string{v1.LabelHostname, "zone", "rack"}
)

// Namespaces returns the labels of the random clusters' namespaces.
func (Random) Namespaces() map[string]labels.Set {
	return map[string]labels.Set{"default": {"team": "x"}, "ns1": {"team": "y"}, "ns2": {}}
}

func (g Random) pick(s []string) string { return s[g.R.IntN(len(s))] }

// Labels returns 0–3 random labels.
func (g Random) Labels() map[string]string {
	l := map[string]string{}
	for _, k := range randomKeys {
		if g.R.IntN(3) > 0 {
			l[k] = g.pick(randomValues)
		}
	}
	return l
}

// Selector returns a random label selector (nil one time in ten): some
// matchLabels and some In, NotIn, Exists and DoesNotExist expressions.
func (g Random) Selector() *metav1.LabelSelector {
	if g.R.IntN(10) == 0 {
		return nil
	}
	s := &metav1.LabelSelector{}
	for range g.R.IntN(2) {
		if s.MatchLabels == nil {
			s.MatchLabels = map[string]string{}
		}
		s.MatchLabels[g.pick(randomKeys)] = g.pick(randomValues)
	}
	ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}
	for range g.R.IntN(3) {
		r := metav1.LabelSelectorRequirement{Key: g.pick(randomKeys), Operator: ops[g.R.IntN(len(ops))]}
		if r.Operator == metav1.LabelSelectorOpIn || r.Operator == metav1.LabelSelectorOpNotIn {
			r.Values = []string{g.pick(randomValues)}
			if g.R.IntN(2) == 0 {
				r.Values = append(r.Values, g.pick(randomValues))
			}
		}
		s.MatchExpressions = append(s.MatchExpressions, r)
	}
	return s
}

// Term returns a random pod affinity term: random selector, topology
// key, namespaces, namespaceSelector and matchLabelKeys.
func (g Random) Term() v1.PodAffinityTerm {
	t := v1.PodAffinityTerm{LabelSelector: g.Selector(), TopologyKey: g.pick(RandomTopologyKeys)}
	switch g.R.IntN(4) {
	case 0:
		t.Namespaces = []string{g.pick(randomNSNames)}
	case 1:
		t.NamespaceSelector = &metav1.LabelSelector{}
	case 2:
		t.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "y"}}
		if g.R.IntN(2) == 0 {
			t.Namespaces = []string{g.pick(randomNSNames)}
		}
	}
	if t.LabelSelector != nil && g.R.IntN(4) == 0 {
		if g.R.IntN(2) == 0 {
			t.MatchLabelKeys = []string{g.pick(randomKeys)}
		} else {
			t.MismatchLabelKeys = []string{g.pick(randomKeys)}
		}
	}
	return t
}

// Affinity returns random pod affinity and anti-affinity, required and
// preferred, or nil.
func (g Random) Affinity(p float64) *v1.Affinity {
	if g.R.Float64() >= p {
		return nil
	}
	a := &v1.Affinity{PodAffinity: &v1.PodAffinity{}, PodAntiAffinity: &v1.PodAntiAffinity{}}
	for range g.R.IntN(2) {
		a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, g.Term())
	}
	for range g.R.IntN(2) {
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, g.Term())
	}
	for range g.R.IntN(3) {
		a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
			v1.WeightedPodAffinityTerm{Weight: int32(1 + g.R.IntN(100)), PodAffinityTerm: g.Term()})
	}
	for range g.R.IntN(3) {
		a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
			v1.WeightedPodAffinityTerm{Weight: int32(1 + g.R.IntN(100)), PodAffinityTerm: g.Term()})
	}
	return a
}

// Nodes returns 3–10 nodes: always a hostname, mostly a zone, sometimes
// a rack, sometimes a NoSchedule taint.
func (g Random) Nodes() []*v1.Node {
	n := 3 + g.R.IntN(8)
	out := make([]*v1.Node, n)
	for i := range out {
		l := map[string]string{}
		if g.R.IntN(5) > 0 {
			l["zone"] = g.pick(randomValues)
		}
		if g.R.IntN(2) == 0 {
			l["rack"] = g.pick(randomValues)
		}
		out[i] = Node(fmt.Sprintf("n%d", i), l, "", "")
		if g.R.IntN(5) == 0 {
			out[i].Spec.Taints = []v1.Taint{{Key: "dedicated", Value: "x", Effect: v1.TaintEffectNoSchedule}}
		}
	}
	return out
}

// Pods returns up to 30 pods placed on nodes, in random namespaces, with
// random labels; one in ten is being deleted and a share have affinity
// terms of their own.
func (g Random) Pods(nodes []*v1.Node) []*v1.Pod {
	var out []*v1.Pod
	for i := range g.R.IntN(31) {
		p := Pod(fmt.Sprintf("p%d", i), nodes[g.R.IntN(len(nodes))].Name, g.Labels(), "", "")
		p.Namespace = g.pick(randomNSNames)
		if g.R.IntN(10) == 0 {
			now := metav1.Now()
			p.DeletionTimestamp = &now
		}
		p.Spec.Affinity = g.Affinity(0.3)
		out = append(out, p)
	}
	return out
}

// IncomingPod returns an unplaced pod with random labels and namespace.
func (g Random) IncomingPod() *v1.Pod {
	p := Pod("incoming", "", g.Labels(), "", "")
	p.Namespace = g.pick(randomNSNames)
	return p
}
