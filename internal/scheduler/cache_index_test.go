package scheduler

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

// TestSnapshotIndexFollowsCache drives the cache through random node and
// pod changes (add, relabel, remove, assume, forget) and checks after
// each snapshot update that the snapshot's pod and term index and its
// cached topology values give what plain walks of the snapshot give.
func TestSnapshotIndexFollowsCache(t *testing.T) {
	for seed := range uint64(40) {
		g := frameworktest.Random{R: rand.New(rand.NewPCG(seed, 3))}
		c := NewCache()
		snap := framework.NewEmptySnapshot()
		var pods []*v1.Pod
		nodeNames := []string{"n0", "n1", "n2", "n3", "n4"}
		for step := range 150 {
			switch op := g.R.IntN(10); {
			case op < 2:
				l := g.Labels()
				l[v1.LabelHostname] = nodeNames[g.R.IntN(len(nodeNames))]
				if g.R.IntN(4) > 0 {
					l["zone"] = []string{"a", "b", "c"}[g.R.IntN(3)]
				}
				c.AddNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: l[v1.LabelHostname], Labels: l}})
			case op < 3:
				c.RemoveNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeNames[g.R.IntN(len(nodeNames))]}})
			case op < 7 || len(pods) == 0:
				p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", step), Namespace: "default",
					UID: types.UID(fmt.Sprintf("%d-%d", seed, step)), Labels: g.Labels()},
					Spec: v1.PodSpec{NodeName: nodeNames[g.R.IntN(len(nodeNames))], Affinity: g.Affinity(0.4)}}
				if g.R.IntN(2) == 0 {
					c.AssumePod(p)
				} else {
					c.AddPod(p)
				}
				pods = append(pods, p)
			default:
				i := g.R.IntN(len(pods))
				p := pods[i]
				switch g.R.IntN(3) {
				case 0:
					c.ForgetPod(p)
				case 1:
					c.RemovePod(p)
				default:
					q := p.DeepCopy()
					q.Labels = g.Labels()
					q.Spec.NodeName = nodeNames[g.R.IntN(len(nodeNames))]
					c.UpdatePod(q)
					pods[i] = q
					continue
				}
				pods = append(pods[:i], pods[i+1:]...)
			}
			if g.R.IntN(3) > 0 {
				continue
			}
			c.UpdateSnapshot(snap)
			checkIndex(t, g, snap, fmt.Sprintf("seed %d step %d", seed, step))
			checkSlots(t, c, snap, len(nodeNames), fmt.Sprintf("seed %d step %d", seed, step))
		}
	}
}

// checkSlots checks the NodeInfos' slots: distinct, from 1, below the
// snapshot's bound, the cache's own in the snapshot, and reused (the
// bound never passes the number of names a NodeInfo can have).
func checkSlots(t *testing.T, c *Cache, snap *framework.Snapshot, names int, at string) {
	t.Helper()
	seen := map[int32]string{}
	for name, ni := range c.nodes {
		if other, ok := seen[ni.Slot]; ok {
			t.Fatalf("%s: nodes %s and %s share slot %d", at, name, other, ni.Slot)
		}
		seen[ni.Slot] = name
		if ni.Slot < 1 || ni.Slot >= snap.Slots {
			t.Fatalf("%s: node %s has slot %d, want 1..%d", at, name, ni.Slot, snap.Slots-1)
		}
		if sn, ok := snap.NodeInfoMap[name]; ok && sn.Slot != ni.Slot {
			t.Fatalf("%s: node %s has slot %d in the snapshot, %d in the cache", at, name, sn.Slot, ni.Slot)
		}
	}
	for _, s := range c.freeSlots {
		if name, ok := seen[s]; ok {
			t.Fatalf("%s: slot %d of node %s is also free", at, s, name)
		}
	}
	if int(snap.Slots) > names+1 {
		t.Fatalf("%s: slot bound %d for at most %d nodes: freed slots are not reused", at, snap.Slots, names)
	}
}

func checkIndex(t *testing.T, g frameworktest.Random, snap *framework.Snapshot, at string) {
	t.Helper()
	for range 5 {
		ls := g.Selector()
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			t.Fatal(err)
		}
		var indexed, walked []string
		snap.EachPodCandidate(sel, func(pi *framework.PodInfo, ni *framework.NodeInfo) {
			if sel.Matches(labels.Set(pi.Pod.Labels)) {
				indexed = append(indexed, fmt.Sprintf("%s@%p", pi.Pod.UID, ni))
			}
		})
		framework.EachPod(snap.NodeInfoList, func(pi *framework.PodInfo, ni *framework.NodeInfo) {
			if sel.Matches(labels.Set(pi.Pod.Labels)) {
				walked = append(walked, fmt.Sprintf("%s@%p", pi.Pod.UID, ni))
			}
		})
		sort.Strings(indexed)
		sort.Strings(walked)
		if diff := cmp.Diff(walked, indexed); diff != "" {
			t.Fatalf("%s: pods selected by %v (-full walk +indexed):\n%s", at, sel, diff)
		}
	}
	podLabels := g.Labels()
	for kind := framework.TermKind(0); kind < 4; kind++ {
		var indexed, walked []string
		collect := func(out *[]string) func(*framework.PodInfo, *framework.NodeInfo, *framework.AffinityTerm, int32) {
			return func(ex *framework.PodInfo, ni *framework.NodeInfo, term *framework.AffinityTerm, w int32) {
				if term.Selector.Matches(labels.Set(podLabels)) {
					*out = append(*out, fmt.Sprintf("%s@%p/%p/%d", ex.Pod.UID, ni, term, w))
				}
			}
		}
		snap.EachTermCandidate(kind, podLabels, collect(&indexed))
		framework.EachTerm(snap.NodeInfoList, kind, collect(&walked))
		sort.Strings(indexed)
		sort.Strings(walked)
		if diff := cmp.Diff(walked, indexed); diff != "" {
			t.Fatalf("%s: terms of kind %d selecting %v (-full walk +indexed):\n%s", at, kind, podLabels, diff)
		}
	}
	for _, keys := range [][]string{{"zone"}, {"zone", v1.LabelHostname}, {"app"}} {
		if diff := cmp.Diff(framework.TopologyValuesOf(snap.NodeInfoList, keys), snap.TopologyValues(keys)); diff != "" {
			t.Fatalf("%s: topology values of %v (-full walk +cached):\n%s", at, keys, diff)
		}
	}
}
