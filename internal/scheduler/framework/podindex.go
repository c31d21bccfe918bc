package framework

import (
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// TermKind names one of the four lists of pod (anti-)affinity terms of a
// PodInfo, for EachTermCandidate.
type TermKind int

// The kinds of affinity terms.
const (
	RequiredAffinityTerm TermKind = iota
	RequiredAntiAffinityTerm
	PreferredAffinityTerm
	PreferredAntiAffinityTerm
	numTermKinds
)

// labelPair is one label (key and value).
type labelPair struct{ key, value string }

// nodeSlot holds the snapshot's current NodeInfo of one node, so that
// index entries follow a node that is cloned again without being
// touched themselves.
type nodeSlot struct{ ni *NodeInfo }

// termRef is one affinity term of an indexed pod.
type termRef struct {
	entry  *podEntry
	term   *AffinityTerm
	weight int32
}

// podEntry is an indexed pod: where it is and under which keys its terms
// were filed (so that removal finds them again).
type podEntry struct {
	pi    *PodInfo
	slot  *nodeSlot
	terms [numTermKinds][]termFiling
	// seen is the epoch of the last replaceNode that found the pod still
	// on its node.
	seen uint64
}

// termFiling says where one term was filed: under pairs, or among the
// terms without an equality requirement when pairs is nil.
type termFiling struct {
	ref   *termRef
	pairs []labelPair
}

// termIndex files existing pods' terms of one kind by one of the
// equality requirements of their selector, so that the terms that may
// select a given pod are found from that pod's labels.
type termIndex struct {
	byPair map[labelPair]map[*termRef]struct{}
	// open holds the terms whose selector has no equality requirement.
	open map[*termRef]struct{}
}

// podIndex finds a snapshot's pods by label, and existing pods' affinity
// terms by the labels they may select. It is updated between cycles
// (by Snapshot.ReplaceNode) and only read during one.
type podIndex struct {
	slots   map[string]*nodeSlot
	entries map[*PodInfo]*podEntry
	byLabel map[labelPair]map[*podEntry]struct{}
	terms   [numTermKinds]termIndex
	epoch   uint64
}

func newPodIndex() *podIndex {
	x := &podIndex{slots: map[string]*nodeSlot{}, entries: map[*PodInfo]*podEntry{}, byLabel: map[labelPair]map[*podEntry]struct{}{}}
	for k := range x.terms {
		x.terms[k] = termIndex{byPair: map[labelPair]map[*termRef]struct{}{}, open: map[*termRef]struct{}{}}
	}
	return x
}

// replaceNode makes the index hold nw's pods for node name instead of
// old's (either may be nil). Pods present in both keep their entries, so
// the cost is that of the pods that changed plus one pass over each list.
func (x *podIndex) replaceNode(name string, old, nw *NodeInfo) {
	x.epoch++
	slot := x.slots[name]
	if nw != nil {
		if slot == nil {
			slot = &nodeSlot{}
			x.slots[name] = slot
		}
		slot.ni = nw
		for _, pi := range nw.Pods {
			if e, ok := x.entries[pi]; ok {
				e.slot, e.seen = slot, x.epoch
				continue
			}
			x.add(pi, slot).seen = x.epoch
		}
	} else {
		delete(x.slots, name)
	}
	if old == nil {
		return
	}
	for _, pi := range old.Pods {
		if e, ok := x.entries[pi]; ok && e.seen != x.epoch && e.slot == slot {
			x.remove(e)
		}
	}
}

func (x *podIndex) add(pi *PodInfo, slot *nodeSlot) *podEntry {
	e := &podEntry{pi: pi, slot: slot}
	x.entries[pi] = e
	for k, v := range pi.Pod.Labels {
		p := labelPair{k, v}
		m := x.byLabel[p]
		if m == nil {
			m = map[*podEntry]struct{}{}
			x.byLabel[p] = m
		}
		m[e] = struct{}{}
	}
	for i := range pi.RequiredAffinityTerms {
		x.fileTerm(e, RequiredAffinityTerm, &pi.RequiredAffinityTerms[i], 0)
	}
	for i := range pi.RequiredAntiAffinityTerms {
		x.fileTerm(e, RequiredAntiAffinityTerm, &pi.RequiredAntiAffinityTerms[i], 0)
	}
	for i := range pi.PreferredAffinityTerms {
		t := &pi.PreferredAffinityTerms[i]
		x.fileTerm(e, PreferredAffinityTerm, &t.AffinityTerm, t.Weight)
	}
	for i := range pi.PreferredAntiAffinityTerms {
		t := &pi.PreferredAntiAffinityTerms[i]
		x.fileTerm(e, PreferredAntiAffinityTerm, &t.AffinityTerm, t.Weight)
	}
	return e
}

func (x *podIndex) fileTerm(e *podEntry, kind TermKind, t *AffinityTerm, weight int32) {
	reqs, selectable := t.Selector.Requirements()
	if !selectable {
		return // selects nothing, so it never applies
	}
	ti := &x.terms[kind]
	ref := &termRef{entry: e, term: t, weight: weight}
	pairs := ti.bestPairs(reqs)
	e.terms[kind] = append(e.terms[kind], termFiling{ref: ref, pairs: pairs})
	if pairs == nil {
		ti.open[ref] = struct{}{}
		return
	}
	for _, p := range pairs {
		m := ti.byPair[p]
		if m == nil {
			m = map[*termRef]struct{}{}
			ti.byPair[p] = m
		}
		m[ref] = struct{}{}
	}
}

// bestPairs picks the equality requirement to file a term under: the one
// with the fewest values, then the one whose buckets hold the fewest
// terms already; nil when there is none.
func (ti *termIndex) bestPairs(reqs labels.Requirements) []labelPair {
	best, bestVals, bestLoad := -1, 0, 0
	for i := range reqs {
		vals, ok := equalityValues(&reqs[i])
		if !ok {
			continue
		}
		load := 0
		for _, v := range vals {
			load += len(ti.byPair[labelPair{reqs[i].Key(), v}])
		}
		if best < 0 || len(vals) < bestVals || (len(vals) == bestVals && load < bestLoad) {
			best, bestVals, bestLoad = i, len(vals), load
		}
	}
	if best < 0 {
		return nil
	}
	vals, _ := equalityValues(&reqs[best])
	out := make([]labelPair, len(vals))
	for i, v := range vals {
		out[i] = labelPair{reqs[best].Key(), v}
	}
	return out
}

// Narrows reports whether sel has an equality requirement (=, ==, In)
// or selects nothing, so that EachPodCandidate visits only some pods for
// it rather than all.
func Narrows(sel labels.Selector) bool {
	reqs, selectable := sel.Requirements()
	if !selectable {
		return true
	}
	for i := range reqs {
		if _, ok := equalityValues(&reqs[i]); ok {
			return true
		}
	}
	return false
}

// equalityValues returns the values a requirement accepts when it only
// accepts listed values (=, ==, In).
func equalityValues(r *labels.Requirement) ([]string, bool) {
	switch r.Operator() {
	case selection.Equals, selection.DoubleEquals, selection.In:
		vals := r.ValuesUnsorted()
		if len(vals) > 1 {
			// "In (a, a)" is valid: visit the bucket of a once.
			vals = r.Values().UnsortedList()
		}
		return vals, len(vals) > 0
	}
	return nil, false
}

func (x *podIndex) remove(e *podEntry) {
	delete(x.entries, e.pi)
	for k, v := range e.pi.Pod.Labels {
		p := labelPair{k, v}
		if m := x.byLabel[p]; m != nil {
			delete(m, e)
			if len(m) == 0 {
				delete(x.byLabel, p)
			}
		}
	}
	for kind := range e.terms {
		ti := &x.terms[kind]
		for _, f := range e.terms[kind] {
			if f.pairs == nil {
				delete(ti.open, f.ref)
				continue
			}
			for _, p := range f.pairs {
				if m := ti.byPair[p]; m != nil {
					delete(m, f.ref)
					if len(m) == 0 {
						delete(ti.byPair, p)
					}
				}
			}
		}
	}
}

// eachPodCandidate calls fn for the pods sel may select; it reports false
// (calling nothing) when sel has no equality requirement to narrow them.
func (x *podIndex) eachPodCandidate(sel labels.Selector, fn func(*PodInfo, *NodeInfo)) bool {
	reqs, selectable := sel.Requirements()
	if !selectable {
		return true // selects nothing
	}
	best, bestSize := -1, 0
	for i := range reqs {
		vals, ok := equalityValues(&reqs[i])
		if !ok {
			continue
		}
		size := 0
		for _, v := range vals {
			size += len(x.byLabel[labelPair{reqs[i].Key(), v}])
		}
		if best < 0 || size < bestSize {
			best, bestSize = i, size
		}
	}
	if best < 0 {
		return false
	}
	if bestSize == 0 {
		return true
	}
	// A pod has one value per key, so the buckets of different values of
	// one key are disjoint: no pod is visited twice.
	vals, _ := equalityValues(&reqs[best])
	for _, v := range vals {
		for e := range x.byLabel[labelPair{reqs[best].Key(), v}] {
			fn(e.pi, e.slot.ni)
		}
	}
	return true
}

// eachTermCandidate calls fn for the terms of kind that may select a pod
// with podLabels.
func (x *podIndex) eachTermCandidate(kind TermKind, podLabels map[string]string, fn func(ex *PodInfo, ni *NodeInfo, t *AffinityTerm, weight int32)) {
	ti := &x.terms[kind]
	if len(ti.byPair) > 0 {
		for k, v := range podLabels {
			for ref := range ti.byPair[labelPair{k, v}] {
				fn(ref.entry.pi, ref.entry.slot.ni, ref.term, ref.weight)
			}
		}
	}
	for ref := range ti.open {
		fn(ref.entry.pi, ref.entry.slot.ni, ref.term, ref.weight)
	}
}
