package podtopologyspread

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

// randomConstraint returns a spread constraint with random key, skew,
// action, selector, minDomains, inclusion policies and matchLabelKeys.
func randomConstraint(g frameworktest.Random) v1.TopologySpreadConstraint {
	r := g.R
	c := v1.TopologySpreadConstraint{MaxSkew: int32(1 + r.IntN(3)), TopologyKey: frameworktest.RandomTopologyKeys[r.IntN(3)],
		WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: g.Selector()}
	if r.IntN(2) == 0 {
		c.WhenUnsatisfiable = v1.ScheduleAnyway
	} else if r.IntN(3) == 0 {
		n := int32(1 + r.IntN(4))
		c.MinDomains = &n
	}
	policies := []v1.NodeInclusionPolicy{v1.NodeInclusionPolicyHonor, v1.NodeInclusionPolicyIgnore}
	if r.IntN(2) == 0 {
		c.NodeAffinityPolicy = &policies[r.IntN(2)]
	}
	if r.IntN(2) == 0 {
		c.NodeTaintsPolicy = &policies[r.IntN(2)]
	}
	if c.LabelSelector != nil && r.IntN(4) == 0 {
		c.MatchLabelKeys = []string{"app"}
	}
	return c
}

// TestIndexedMatchesFullWalk checks, on random clusters, that counting
// only the candidate pods of the snapshot's index (and the cached
// topology domains) gives the same filter results and scores as walking
// every node and pod.
func TestIndexedMatchesFullWalk(t *testing.T) {
	args := []string{"", `{"defaultingType": "List", "defaultConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}, {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}]}`}
	for seed := range uint64(400) {
		g := frameworktest.Random{R: rand.New(rand.NewPCG(seed, 11))}
		nodes := g.Nodes()
		// The system defaults spread over the well-known zone label.
		for _, n := range nodes {
			if z, ok := n.Labels["zone"]; ok && seed%3 > 0 {
				n.Labels[v1.LabelTopologyZone] = z
			}
		}
		pods := g.Pods(nodes)
		pod := g.IncomingPod()
		for range g.R.IntN(3) {
			pod.Spec.TopologySpreadConstraints = append(pod.Spec.TopologySpreadConstraints, randomConstraint(g))
		}
		if g.R.IntN(3) == 0 {
			pod.Spec.NodeSelector = map[string]string{"rack": "a"}
		}
		if g.R.IntN(3) == 0 {
			pod.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists}}
		}
		var defaultSel func(*v1.Pod) labels.Selector
		if ls := g.Selector(); ls != nil {
			sel, err := metav1.LabelSelectorAsSelector(ls)
			if err != nil {
				t.Fatal(err)
			}
			defaultSel = func(*v1.Pod) labels.Selector { return sel }
		}
		h, err := frameworktest.New(Name, New, args[seed%2], nodes, pods, defaultSel)
		if err != nil {
			t.Fatal(err)
		}
		indexed, _ := h.Filter(pod)
		indexedScores, indexedErr := h.Score(pod)
		h.Lister = frameworktest.FullWalk(h.Snapshot)
		walked, _ := h.Filter(pod)
		walkedScores, walkedErr := h.Score(pod)
		if diff := cmp.Diff(frameworktest.Reasons(walked), frameworktest.Reasons(indexed)); diff != "" {
			t.Errorf("seed %d: filter (-full walk +indexed):\n%s", seed, diff)
		}
		if diff := cmp.Diff(walkedScores, indexedScores); diff != "" || (walkedErr == nil) != (indexedErr == nil) {
			t.Errorf("seed %d: scores (-full walk +indexed):\n%s (errors %v, %v)", seed, diff, walkedErr, indexedErr)
		}
	}
}
