package framework

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// NodeSelector is a parsed v1.NodeSelector: a node matches when any term
// matches; a term matches when all its expressions and fields match.
type NodeSelector struct {
	terms []nodeSelectorTerm
}

type nodeSelectorTerm struct {
	labels labels.Selector
	fields fields.Selector
}

var nodeSelectorOps = map[v1.NodeSelectorOperator]selection.Operator{
	v1.NodeSelectorOpIn: selection.In, v1.NodeSelectorOpNotIn: selection.NotIn,
	v1.NodeSelectorOpExists: selection.Exists, v1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	v1.NodeSelectorOpGt: selection.GreaterThan, v1.NodeSelectorOpLt: selection.LessThan,
}

// NewNodeSelector parses ns. Terms with no expressions and no fields match
// nothing, as upstream's; invalid terms are an error.
func NewNodeSelector(ns *v1.NodeSelector) (*NodeSelector, error) {
	out := &NodeSelector{}
	for _, t := range ns.NodeSelectorTerms {
		term, ok, err := parseTerm(&t)
		if err != nil {
			return nil, err
		}
		if ok {
			out.terms = append(out.terms, term)
		}
	}
	return out, nil
}

func parseTerm(t *v1.NodeSelectorTerm) (nodeSelectorTerm, bool, error) {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return nodeSelectorTerm{}, false, nil
	}
	var term nodeSelectorTerm
	if len(t.MatchExpressions) > 0 {
		sel := labels.NewSelector()
		for _, e := range t.MatchExpressions {
			op, ok := nodeSelectorOps[e.Operator]
			if !ok {
				return term, false, fmt.Errorf("node selector operator %q is not valid", e.Operator)
			}
			r, err := labels.NewRequirement(e.Key, op, e.Values)
			if err != nil {
				return term, false, err
			}
			sel = sel.Add(*r)
		}
		term.labels = sel
	}
	if len(t.MatchFields) > 0 {
		var sels []fields.Selector
		for _, f := range t.MatchFields {
			if f.Key != "metadata.name" || len(f.Values) != 1 {
				return term, false, fmt.Errorf("node field selector %s %s %v is not valid", f.Key, f.Operator, f.Values)
			}
			switch f.Operator {
			case v1.NodeSelectorOpIn:
				sels = append(sels, fields.OneTermEqualSelector(f.Key, f.Values[0]))
			case v1.NodeSelectorOpNotIn:
				sels = append(sels, fields.OneTermNotEqualSelector(f.Key, f.Values[0]))
			default:
				return term, false, fmt.Errorf("node field selector operator %q is not valid", f.Operator)
			}
		}
		term.fields = fields.AndSelectors(sels...)
	}
	return term, true, nil
}

// Match reports whether node matches.
func (s *NodeSelector) Match(node *v1.Node) bool {
	for _, t := range s.terms {
		if t.match(node) {
			return true
		}
	}
	return false
}

func (t nodeSelectorTerm) match(node *v1.Node) bool {
	if t.labels != nil && !t.labels.Matches(labels.Set(node.Labels)) {
		return false
	}
	if t.fields != nil && !t.fields.Matches(fields.Set{"metadata.name": node.Name}) {
		return false
	}
	return true
}

// RequiredNodeAffinity is a pod's nodeSelector together with its required
// node affinity.
type RequiredNodeAffinity struct {
	selector labels.Selector
	affinity *NodeSelector
}

// GetRequiredNodeAffinity parses pod's nodeSelector and required node
// affinity; invalid terms are dropped (matching nothing).
func GetRequiredNodeAffinity(pod *v1.Pod) RequiredNodeAffinity {
	var r RequiredNodeAffinity
	if len(pod.Spec.NodeSelector) > 0 {
		r.selector = labels.SelectorFromSet(pod.Spec.NodeSelector)
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		ns, err := NewNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		if err != nil {
			ns = &NodeSelector{}
		}
		r.affinity = ns
	}
	return r
}

// IsEmpty reports whether the pod has neither a nodeSelector nor required
// node affinity, so that every node matches.
func (r RequiredNodeAffinity) IsEmpty() bool { return r.selector == nil && r.affinity == nil }

// Match reports whether node satisfies both.
func (r RequiredNodeAffinity) Match(node *v1.Node) bool {
	if r.selector != nil && !r.selector.Matches(labels.Set(node.Labels)) {
		return false
	}
	return r.affinity == nil || r.affinity.Match(node)
}

// TolerationToleratesTaint reports whether tol tolerates taint: same
// effect (or any when empty), and the same key and value (Equal, the
// default) or the same key (Exists; an empty key with Exists tolerates
// every taint).
func TolerationToleratesTaint(tol *v1.Toleration, taint *v1.Taint) bool {
	if tol.Effect != "" && tol.Effect != taint.Effect {
		return false
	}
	if tol.Key != taint.Key && !(tol.Key == "" && tol.Operator == v1.TolerationOpExists) {
		return false
	}
	switch tol.Operator {
	case "", v1.TolerationOpEqual:
		return tol.Value == taint.Value
	case v1.TolerationOpExists:
		return true
	}
	return false
}

// FindMatchingUntoleratedTaint returns the first taint accepted by
// filter that no toleration tolerates.
func FindMatchingUntoleratedTaint(taints []v1.Taint, tols []v1.Toleration, filter func(*v1.Taint) bool) (v1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if filter != nil && !filter(t) {
			continue
		}
		tolerated := false
		for j := range tols {
			if TolerationToleratesTaint(&tols[j], t) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return *t, true
		}
	}
	return v1.Taint{}, false
}

// DoNotScheduleTaints accepts the NoSchedule and NoExecute taints.
func DoNotScheduleTaints(t *v1.Taint) bool {
	return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
}

// DefaultNormalizeScore scales scores so the highest becomes maxPriority
// (reversed when reverse is set); all-zero scores become maxPriority when
// reversed and stay 0 otherwise.
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores NodeScoreList) *Status {
	var maxCount int64
	for i := range scores {
		maxCount = max(maxCount, scores[i].Score)
	}
	if maxCount == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return nil
	}
	for i := range scores {
		s := scores[i].Score
		s = maxPriority * s / maxCount
		if reverse {
			s = maxPriority - s
		}
		scores[i].Score = s
	}
	return nil
}
