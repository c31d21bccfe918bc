// Package defaultpreemption implements the DefaultPreemption PostFilter:
// for a pod that fits no node it looks for nodes where evicting pods of
// lower priority would make it fit, picks the node whose victims hurt
// least, has the scheduler evict them and nominates the node for the pod.
//
// The semantics are upstream's:
//   - a pod with preemptionPolicy Never never preempts, nor does a pod
//     whose nominated node still has a lower-priority pod terminating
//     because of an earlier preemption;
//   - only nodes whose filter failure is resolvable (Unschedulable, not
//     UnschedulableAndUnresolvable) are tried; on a copy of each node all
//     lower-priority pods are removed and the filters run again (with
//     the nominated pods of higher priority counted), then as many
//     victims as possible are reprieved, most important first, those
//     whose eviction would violate a PodDisruptionBudget before the
//     others;
//   - among the candidate nodes the one chosen has the fewest PDB
//     violations, then the lowest highest-priority victim, then the
//     smallest sum of victim priorities, then the fewest victims, then
//     the latest start time of its most important victims, then comes
//     first.
//
// The plugin does no I/O: evictions go through Handle.Preempt.
package defaultpreemption

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "DefaultPreemption"

// Explanations per node, as upstream's.
const (
	ReasonNotHelpful = "Preemption is not helpful for scheduling"
	ReasonNoVictims  = "No preemption victims found for incoming pod"
)

// Messages of pods that may not preempt.
const (
	MsgPolicyNever         = "not eligible due to preemptionPolicy=Never."
	MsgTerminatingNominted = "not eligible due to a terminating pod on the nominated node."
)

// Bounds of how many candidate nodes a dry run looks for (upstream's
// defaults of DefaultPreemptionArgs).
const (
	minCandidateNodesPercentage = 10
	minCandidateNodesAbsolute   = 100
)

// Plugin is the DefaultPreemption plugin.
type Plugin struct {
	h framework.Handle
	// offset picks where the dry run starts among n nodes.
	offset func(n int) int
}

// New builds the plugin.
func New(_ []byte, h framework.Handle) (framework.Plugin, error) {
	return &Plugin{h: h, offset: func(n int) int { return rand.IntN(n) }}, nil
}

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// Candidate is a node where preemption makes the pod fit, with the pods
// to evict (most important first) and how many of them violate a PDB.
type Candidate struct {
	Node            string
	Victims         []*v1.Pod
	NumPDBViolating int
}

// PostFilter implements framework.PostFilterPlugin.
func (p *Plugin) PostFilter(ctx context.Context, state *framework.CycleState, pod *v1.Pod, filtered framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	if ok, msg := p.eligible(pod, filtered); !ok {
		return nil, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	nodes := p.h.SnapshotSharedLister().List()
	cands, statuses, err := p.FindCandidates(ctx, state, pod, filtered)
	if err != nil {
		return nil, framework.AsStatus(err)
	}
	if len(cands) == 0 {
		reasons := map[string]int{}
		for _, ni := range nodes {
			st, ok := statuses[ni.Node().Name]
			if !ok {
				reasons[ReasonNotHelpful]++
				continue
			}
			for _, r := range st.Reasons() {
				reasons[r]++
			}
		}
		msg := fmt.Sprintf("0/%d nodes are available: %s.", len(nodes), Histogram(reasons))
		// An empty nomination clears a stale one.
		return &framework.PostFilterResult{}, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	best := SelectCandidate(cands)
	if err := p.h.Preempt(ctx, pod, best.Node, best.Victims, p.lowerNominated(pod, best.Node)); err != nil {
		return nil, framework.AsStatus(fmt.Errorf("preempt on node %s: %w", best.Node, err))
	}
	return &framework.PostFilterResult{NominatedNodeName: best.Node}, nil
}

// eligible reports whether pod may preempt at all, or why not.
func (p *Plugin) eligible(pod *v1.Pod, filtered framework.NodeToStatus) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == v1.PreemptNever {
		return false, MsgPolicyNever
	}
	nom := pod.Status.NominatedNodeName
	if nom == "" {
		return true, ""
	}
	// A nominated node that cannot take the pod anyway is fair game for
	// another attempt elsewhere.
	if st, ok := filtered[nom]; ok && st.Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	ni, err := p.h.SnapshotSharedLister().Get(nom)
	if err != nil {
		return true, ""
	}
	prio := framework.PodPriority(pod)
	for _, pi := range ni.Pods {
		if framework.PodPriority(pi.Pod) < prio && TerminatingByPreemption(pi.Pod) {
			return false, MsgTerminatingNominted
		}
	}
	return true, ""
}

// TerminatingByPreemption reports whether pod is being deleted because
// the scheduler preempted it.
func TerminatingByPreemption(pod *v1.Pod) bool {
	if pod.DeletionTimestamp == nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.DisruptionTarget && c.Status == v1.ConditionTrue && c.Reason == v1.PodReasonPreemptionByScheduler {
			return true
		}
	}
	return false
}

// lowerNominated returns the pods nominated to node with a lower
// priority than pod: they lose their nomination.
func (p *Plugin) lowerNominated(pod *v1.Pod, node string) []*v1.Pod {
	var out []*v1.Pod
	prio := framework.PodPriority(pod)
	for _, pi := range p.h.NominatedPodsForNode(node) {
		if pi.Pod.UID != pod.UID && framework.PodPriority(pi.Pod) < prio {
			out = append(out, pi.Pod)
		}
	}
	return out
}

// numCandidates is how many candidates a dry run looks for among n
// potential nodes: 10% of them, at least 100, at most n.
func numCandidates(n int) int {
	c := n * minCandidateNodesPercentage / 100
	c = max(c, minCandidateNodesAbsolute)
	return min(c, n)
}

// FindCandidates dry-runs preemption on the nodes where it might help.
// It returns the candidates found and, for every node tried without
// success, why.
func (p *Plugin) FindCandidates(ctx context.Context, state *framework.CycleState, pod *v1.Pod, filtered framework.NodeToStatus) ([]Candidate, framework.NodeToStatus, error) {
	statuses := framework.NodeToStatus{}
	var potential []*framework.NodeInfo
	for _, ni := range p.h.SnapshotSharedLister().List() {
		st, ok := filtered[ni.Node().Name]
		if !ok || st.Code() == framework.UnschedulableAndUnresolvable {
			continue
		}
		potential = append(potential, ni)
	}
	if len(potential) == 0 {
		return nil, statuses, nil
	}
	pdbs := p.h.PodDisruptionBudgets()
	want := numCandidates(len(potential))
	offset := 0
	if want < len(potential) {
		offset = p.offset(len(potential))
	}
	var violating, clean []Candidate
	for i := range potential {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		ni := potential[(offset+i)%len(potential)]
		victims, numViolating, st := p.SelectVictimsOnNode(ctx, state.Clone(), pod, ni.Clone(), pdbs)
		if !st.IsSuccess() {
			if !st.IsRejected() {
				return nil, nil, st.AsError()
			}
			statuses[ni.Node().Name] = st
			continue
		}
		c := Candidate{Node: ni.Node().Name, Victims: victims, NumPDBViolating: numViolating}
		if numViolating == 0 {
			clean = append(clean, c)
		} else {
			violating = append(violating, c)
		}
		if len(clean) > 0 && len(clean)+len(violating) >= want {
			break
		}
	}
	return append(clean, violating...), statuses, nil
}

// SelectVictimsOnNode works on ni and state, which the caller gives as
// copies: it removes every pod of lower priority than pod, checks that
// pod then fits, and puts back as many as it can, most important first,
// those whose eviction would violate a PDB first. It returns the pods
// that must go (most important first) and how many of them violate a
// PDB.
func (p *Plugin) SelectVictimsOnNode(ctx context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*v1.Pod, int, *framework.Status) {
	prio := framework.PodPriority(pod)
	var potential []*framework.PodInfo
	for _, pi := range ni.Pods {
		if framework.PodPriority(pi.Pod) < prio {
			potential = append(potential, pi)
		}
	}
	if len(potential) == 0 {
		return nil, 0, framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonNoVictims)
	}
	for _, pi := range potential {
		ni.RemovePod(pi.Pod)
		if st := p.h.RunPreFilterExtensionRemovePod(ctx, state, pod, pi, ni); !st.IsSuccess() {
			return nil, 0, st
		}
	}
	if st := p.h.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni); !st.IsSuccess() {
		return nil, 0, st
	}
	sort.SliceStable(potential, func(i, j int) bool { return MoreImportant(potential[i].Pod, potential[j].Pod) })
	violating, clean := SplitByPDBViolation(potential, pdbs)
	var victims []*v1.Pod
	numViolating := 0
	reprieve := func(pi *framework.PodInfo) (bool, *framework.Status) {
		ni.AddPodInfo(pi)
		if st := p.h.RunPreFilterExtensionAddPod(ctx, state, pod, pi, ni); !st.IsSuccess() {
			return false, st
		}
		if p.h.RunFilterPluginsWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
			return true, nil
		}
		ni.RemovePod(pi.Pod)
		if st := p.h.RunPreFilterExtensionRemovePod(ctx, state, pod, pi, ni); !st.IsSuccess() {
			return false, st
		}
		victims = append(victims, pi.Pod)
		return false, nil
	}
	for _, pi := range violating {
		fits, st := reprieve(pi)
		if st != nil {
			return nil, 0, st
		}
		if !fits {
			numViolating++
		}
	}
	for _, pi := range clean {
		if _, st := reprieve(pi); st != nil {
			return nil, 0, st
		}
	}
	sort.SliceStable(victims, func(i, j int) bool { return MoreImportant(victims[i], victims[j]) })
	return victims, numViolating, nil
}

// SplitByPDBViolation splits pods (most important first) into those
// whose eviction, counted in this order, would take a matching PDB below
// zero disruptions allowed, and the others. Pods a PDB already lists as
// disrupted do not count against it; a PDB with an empty selector
// matches nothing.
func SplitByPDBViolation(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, clean []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	selectors := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil {
			selectors[i] = s
		}
	}
	for _, pi := range pods {
		pod := pi.Pod
		violated := false
		if len(pod.Labels) > 0 {
			for i, pdb := range pdbs {
				sel := selectors[i]
				if pdb.Namespace != pod.Namespace || sel == nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
					continue
				}
				if _, ok := pdb.Status.DisruptedPods[pod.Name]; ok {
					continue
				}
				allowed[i]--
				if allowed[i] < 0 {
					violated = true
				}
			}
		}
		if violated {
			violating = append(violating, pi)
		} else {
			clean = append(clean, pi)
		}
	}
	return violating, clean
}

// MoreImportant orders pods by priority (higher first), then by start
// time (earlier first; a pod not started yet counts as starting now,
// after every started one).
func MoreImportant(a, b *v1.Pod) bool {
	pa, pb := framework.PodPriority(a), framework.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return startTime(a).Before(startTime(b))
}

var notStarted = time.Unix(0, math.MaxInt64)

func startTime(p *v1.Pod) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return notStarted
}

// SelectCandidate picks the candidate whose victims hurt least (see the
// package documentation); candidates must not be empty.
func SelectCandidate(cands []Candidate) Candidate {
	for _, c := range cands {
		if len(c.Victims) == 0 {
			return c
		}
	}
	scores := []func(c Candidate) int64{
		func(c Candidate) int64 { return -int64(c.NumPDBViolating) },
		func(c Candidate) int64 { return -int64(framework.PodPriority(c.Victims[0])) },
		func(c Candidate) int64 {
			var sum int64
			for _, v := range c.Victims {
				// Shifted so that negative priorities still add up.
				sum += int64(framework.PodPriority(v)) + math.MaxInt32 + 1
			}
			return -sum
		},
		func(c Candidate) int64 { return -int64(len(c.Victims)) },
		func(c Candidate) int64 { return earliestTopStart(c.Victims).UnixNano() },
	}
	left := cands
	for _, score := range scores {
		var best []Candidate
		var top int64
		for _, c := range left {
			s := score(c)
			switch {
			case len(best) == 0 || s > top:
				best, top = []Candidate{c}, s
			case s == top:
				best = append(best, c)
			}
		}
		if len(best) == 1 {
			return best[0]
		}
		left = best
	}
	return left[0]
}

// earliestTopStart returns the earliest start time among the victims of
// the highest priority.
func earliestTopStart(victims []*v1.Pod) time.Time {
	top := framework.PodPriority(victims[0])
	earliest := notStarted
	for _, v := range victims {
		if framework.PodPriority(v) > top {
			top, earliest = framework.PodPriority(v), startTime(v)
		} else if framework.PodPriority(v) == top && startTime(v).Before(earliest) {
			earliest = startTime(v)
		}
	}
	return earliest
}

// Histogram formats reasons as upstream's FitError does: "N reason"
// entries sorted as strings and joined with ", ".
func Histogram(reasons map[string]int) string {
	out := make([]string, 0, len(reasons))
	for r, n := range reasons {
		out = append(out, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
