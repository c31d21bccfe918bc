package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func boolp(b bool) *bool { return &b }

// placeAll runs scheduling cycles for pods one after the other on a
// fixed, seeded scheduler (no informers, one worker) and returns each
// pod's node ("" when it did not fit). Halfway it relabels a node and
// deletes a placed pod, so that cached results must be invalidated.
func placeAll(t *testing.T, tech SkiffSettings, nodes []*v1.Node, pods []*v1.Pod) (map[string]string, *Scheduler) {
	t.Helper()
	cs := fake.NewClientset()
	s, err := New(Config{Client: cs, Informers: informers.NewSharedInformerFactory(cs, 0),
		Configuration: &Configuration{Skiff: &tech}, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.rand = rand.New(rand.NewPCG(7, 11))
	for _, n := range nodes {
		s.cache.AddNode(n)
	}
	fw := s.profiles[DefaultSchedulerName]
	ctx := context.Background()
	out := map[string]string{}
	var placed []*v1.Pod
	for i, pod := range pods {
		if i == len(pods)/2 {
			n := nodes[3].DeepCopy()
			n.Labels["disk"] = "hdd"
			n.ResourceVersion = "2"
			s.cache.AddNode(n)
			s.cache.RemovePod(placed[0])
		}
		s.cache.UpdateSnapshot(s.snapshot)
		res, err := s.schedulePod(ctx, fw, framework.NewCycleState(), pod)
		if err != nil {
			out[pod.Name] = ""
			continue
		}
		out[pod.Name] = res.host
		p := pod.DeepCopy()
		p.Spec.NodeName = res.host
		s.cache.AssumePod(p)
		placed = append(placed, p)
	}
	return out, s
}

// TestTechniquesKeepPlacements: equivalence classes and score caching
// change how much work a cycle does, never where pods go.
func TestTechniquesKeepPlacements(t *testing.T) {
	var nodes []*v1.Node
	for i := range 150 {
		cpu := []string{"1", "2", "4"}[i%3]
		n := frameworktest.Node(fmt.Sprintf("n%03d", i), map[string]string{
			v1.LabelTopologyZone: []string{"a", "b", "c"}[i%3], "disk": []string{"ssd", "hdd"}[i%2],
		}, cpu, "16Gi")
		if i%7 == 0 {
			n.Spec.Taints = []v1.Taint{{Key: "dedicated", Value: "batch", Effect: v1.TaintEffectNoSchedule}}
		}
		if i%5 == 0 {
			n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: "spot", Effect: v1.TaintEffectPreferNoSchedule})
		}
		nodes = append(nodes, n)
	}
	var pods []*v1.Pod
	for i := range 400 {
		var p *v1.Pod
		switch i % 4 {
		case 0:
			p = frameworktest.Pod(fmt.Sprintf("web-%d", i), "", map[string]string{"app": "web"}, "1", "512Mi")
		case 1:
			p = frameworktest.Pod(fmt.Sprintf("ssd-%d", i), "", map[string]string{"app": "db"}, "2", "1Gi")
			p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		case 2:
			p = frameworktest.Pod(fmt.Sprintf("batch-%d", i), "", map[string]string{"app": "batch"}, "500m", "256Mi")
			p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "batch", Effect: v1.TaintEffectNoSchedule}}
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{
				Weight: 10, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"hdd"}}}},
			}}}}
		default:
			p = frameworktest.Pod(fmt.Sprintf("spread-%d", i), "", map[string]string{"app": "spread"}, "250m", "128Mi")
			p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelTopologyZone,
				WhenUnsatisfiable: v1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}}}}
		}
		pods = append(pods, p)
	}
	for _, relaxed := range []bool{true, false} {
		t.Run(fmt.Sprintf("relaxedRandomization=%v", relaxed), func(t *testing.T) {
			off, sOff := placeAll(t, SkiffSettings{EquivalenceClasses: boolp(false), ScoreCaching: boolp(false), RelaxedRandomization: &relaxed}, nodes, pods)
			on, sOn := placeAll(t, SkiffSettings{RelaxedRandomization: &relaxed}, nodes, pods)
			if diff := cmp.Diff(off, on); diff != "" {
				t.Errorf("placements differ with the techniques on (-off +on):\n%s", diff)
			}
			if n := len(sOff.equivalence.classes); n != 0 {
				t.Errorf("techniques off: %d classes cached", n)
			}
			// Three cacheable classes (the spread pods' soft constraint
			// only keeps their PodTopologySpread score out of the cache).
			if n := len(sOn.equivalence.classes); n != 4 {
				t.Errorf("techniques on: %d classes cached, want 4", n)
			}
			unplaced := 0
			for _, n := range on {
				if n == "" {
					unplaced++
				}
			}
			if unplaced == 0 || unplaced == len(pods) {
				t.Errorf("%d of %d pods unplaced: the workload should fill the cluster partly", unplaced, len(pods))
			}
		})
	}
}

func TestEquivalenceClass(t *testing.T) {
	base := frameworktest.Pod("a", "", map[string]string{"app": "x"}, "1", "1Gi")
	same := frameworktest.Pod("b", "", map[string]string{"app": "y", "other": "z"}, "1", "1Gi")
	bigger := frameworktest.Pod("c", "", nil, "2", "1Gi")
	selector := base.DeepCopy()
	selector.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	anti := base.DeepCopy()
	anti.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{}}
	claim := base.DeepCopy()
	claim.Spec.Volumes = []v1.Volume{{Name: "d", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}}}
	hard := base.DeepCopy()
	hard.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: v1.DoNotSchedule}}

	kb, ok := equivalenceClass(base)
	if !ok {
		t.Fatal("plain pod has no class")
	}
	if ks, _ := equivalenceClass(same); ks != kb {
		t.Error("pods differing only in name and labels are in different classes")
	}
	for name, p := range map[string]*v1.Pod{"bigger": bigger, "selector": selector} {
		if k, ok := equivalenceClass(p); !ok || k == kb {
			t.Errorf("%s: class %v ok %v, want a class of its own", name, k, ok)
		}
	}
	for name, p := range map[string]*v1.Pod{"anti-affinity": anti, "claim": claim, "hard spread": hard} {
		if _, ok := equivalenceClass(p); ok {
			t.Errorf("%s: pod got a class", name)
		}
	}
}
