package interpodaffinity

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

// TestIndexedMatchesFullWalk checks, on random clusters, that the
// snapshot's index (which narrows the pods and terms PreFilter and
// PreScore visit) gives the same filter results and scores as walking
// every pod and term.
func TestIndexedMatchesFullWalk(t *testing.T) {
	args := []string{"", `{"hardPodAffinityWeight": 5}`, `{"hardPodAffinityWeight": 0}`, `{"ignorePreferredTermsOfExistingPods": true}`}
	for seed := range uint64(400) {
		g := frameworktest.Random{R: rand.New(rand.NewPCG(seed, 7))}
		nodes := g.Nodes()
		pods := g.Pods(nodes)
		pod := g.IncomingPod()
		pod.Spec.Affinity = g.Affinity(0.8)
		h, err := frameworktest.New(Name, New, args[seed%uint64(len(args))], nodes, pods, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Namespaces = g.Namespaces()
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
