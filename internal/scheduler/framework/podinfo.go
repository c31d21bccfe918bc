package framework

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// AffinityTerm is a parsed pod (anti-)affinity term: which pods it
// selects (Selector, in Namespaces or namespaces matching
// NamespaceSelector) and the TopologyKey that makes a domain.
type AffinityTerm struct {
	Namespaces        sets.Set[string]
	Selector          labels.Selector
	TopologyKey       string
	NamespaceSelector labels.Selector
}

// Matches reports whether pod (whose namespace has nsLabels) is selected
// by the term.
func (t *AffinityTerm) Matches(pod *v1.Pod, nsLabels labels.Set) bool {
	if t.Namespaces.Has(pod.Namespace) || t.NamespaceSelector.Matches(nsLabels) {
		return t.Selector.Matches(labels.Set(pod.Labels))
	}
	return false
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// PodInfo is a pod with what the scheduler derives from it once: its
// requests and its parsed affinity terms.
type PodInfo struct {
	Pod                        *v1.Pod
	Requests                   *Resource
	NonZeroRequests            *Resource
	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// ParseError is set when a term has an invalid selector.
	ParseError error
}

// NewPodInfo derives a PodInfo from pod (which it does not copy).
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Requests: PodRequests(pod, false), NonZeroRequests: PodRequests(pod, true)}
	a := pod.Spec.Affinity
	if a == nil {
		return pi
	}
	var errs []error
	if a.PodAffinity != nil {
		pi.RequiredAffinityTerms = parseTerms(pod, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAffinityTerms = parseWeighted(pod, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if a.PodAntiAffinity != nil {
		pi.RequiredAntiAffinityTerms = parseTerms(pod, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAntiAffinityTerms = parseWeighted(pod, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if len(errs) > 0 {
		pi.ParseError = errs[0]
	}
	return pi
}

// HasAffinity reports whether the pod has any pod (anti-)affinity term.
func (pi *PodInfo) HasAffinity() bool {
	return len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms)+
		len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
}

func parseTerms(pod *v1.Pod, terms []v1.PodAffinityTerm, errs *[]error) []AffinityTerm {
	out := make([]AffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := NewAffinityTerm(pod, &terms[i])
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, t)
	}
	return out
}

func parseWeighted(pod *v1.Pod, terms []v1.WeightedPodAffinityTerm, errs *[]error) []WeightedAffinityTerm {
	out := make([]WeightedAffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := NewAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
	}
	return out
}

// NewAffinityTerm parses term of pod. With neither namespaces nor a
// namespaceSelector the term covers the pod's own namespace; an empty
// namespaceSelector covers every namespace. matchLabelKeys and
// mismatchLabelKeys are folded into the selector with the pod's values.
func NewAffinityTerm(pod *v1.Pod, term *v1.PodAffinityTerm) (AffinityTerm, error) {
	sel := labels.Nothing()
	if term.LabelSelector != nil {
		ls := term.LabelSelector.DeepCopy()
		for _, k := range term.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}})
			}
		}
		for _, k := range term.MismatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpNotIn, Values: []string{v}})
			}
		}
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			return AffinityTerm{}, fmt.Errorf("pod %s/%s: affinity term selector: %w", pod.Namespace, pod.Name, err)
		}
		sel = s
	}
	ns := sets.New(term.Namespaces...)
	nsSel := labels.Nothing()
	if term.NamespaceSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
		if err != nil {
			return AffinityTerm{}, fmt.Errorf("pod %s/%s: affinity term namespace selector: %w", pod.Namespace, pod.Name, err)
		}
		nsSel = s
	} else if len(ns) == 0 {
		ns.Insert(pod.Namespace)
	}
	return AffinityTerm{Namespaces: ns, Selector: sel, TopologyKey: term.TopologyKey, NamespaceSelector: nsSel}, nil
}
