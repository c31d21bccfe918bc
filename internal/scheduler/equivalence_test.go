package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func boolp(b bool) *bool { return &b }

// placeAll runs scheduling cycles for pods one after the other on a
// fixed, seeded scheduler (no informers, parallelism workers) and
// returns each pod's node ("" when it did not fit). Halfway it relabels
// a node and deletes a placed pod, so that cached results must be
// invalidated.
func placeAll(t *testing.T, tech SkiffSettings, parallelism int, nodes []*v1.Node, pods []*v1.Pod) (map[string]string, *Scheduler) {
	t.Helper()
	cs := fake.NewClientset()
	s, err := New(Config{Client: cs, Informers: informers.NewSharedInformerFactory(cs, 0),
		Configuration: &Configuration{Skiff: &tech}, Parallelism: parallelism})
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
			off, sOff := placeAll(t, SkiffSettings{EquivalenceClasses: boolp(false), ScoreCaching: boolp(false), RelaxedRandomization: &relaxed}, 1, nodes, pods)
			on, sOn := placeAll(t, SkiffSettings{RelaxedRandomization: &relaxed}, 1, nodes, pods)
			if diff := cmp.Diff(off, on); diff != "" {
				t.Errorf("placements differ with the techniques on (-off +on):\n%s", diff)
			}
			// Filtering reads its parallel results in node order, so that
			// the number of workers changes nothing either (and the race
			// detector sees the class caches shared by workers).
			par, _ := placeAll(t, SkiffSettings{RelaxedRandomization: &relaxed}, 4, nodes, pods)
			if diff := cmp.Diff(off, par); diff != "" {
				t.Errorf("placements differ with 4 workers (-1 worker, techniques off +4 workers, on):\n%s", diff)
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

// TestEquivalenceClassKey: the key tells apart pods that differ in any
// scheduling constraint, including ones a plain concatenation of the
// fields would confuse, and not pods that write the same amounts
// differently.
func TestEquivalenceClassKey(t *testing.T) {
	base := frameworktest.Pod("a", "", nil, "1", "1Gi")
	with := func(f func(p *v1.Pod)) *v1.Pod {
		p := base.DeepCopy()
		f(p)
		return p
	}
	zero, always := int32(0), v1.ContainerRestartPolicyAlways
	seconds := int64(30)
	pods := map[string]*v1.Pod{
		"base":      base,
		"cpu 1001m": with(func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = resource.MustParse("1001m") }),
		"cpu limit": with(func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse("1")}
		}),
		"gpu":             with(func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("1") }),
		"selector a=bc":   with(func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"a": "bc"} }),
		"selector ab=c":   with(func(p *v1.Pod) { p.Spec.NodeSelector = map[string]string{"ab": "c"} }),
		"priority 0":      with(func(p *v1.Pod) { p.Spec.Priority = &zero }),
		"scheduler other": with(func(p *v1.Pod) { p.Spec.SchedulerName = "other" }),
		"node name":       with(func(p *v1.Pod) { p.Spec.NodeName = "n1" }),
		"toleration":      with(func(p *v1.Pod) { p.Spec.Tolerations = []v1.Toleration{{Key: "k", Operator: v1.TolerationOpExists}} }),
		"toleration timed": with(func(p *v1.Pod) {
			p.Spec.Tolerations = []v1.Toleration{{Key: "k", Operator: v1.TolerationOpExists, TolerationSeconds: &seconds}}
		}),
		"host port":        with(func(p *v1.Pod) { p.Spec.Containers[0].Ports = []v1.ContainerPort{{ContainerPort: 80, HostPort: 80}} }),
		"overhead":         with(func(p *v1.Pod) { p.Spec.Overhead = v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")} }),
		"pod resources":    with(func(p *v1.Pod) { p.Spec.Resources = &v1.ResourceRequirements{} }),
		"second container": with(func(p *v1.Pod) { p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: "b"}) }),
		"init container":   with(func(p *v1.Pod) { p.Spec.InitContainers = []v1.Container{{Name: "i"}} }),
		"sidecar":          with(func(p *v1.Pod) { p.Spec.InitContainers = []v1.Container{{Name: "i", RestartPolicy: &always}} }),
		"required none": with(func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{}}}
		}),
		"affinity empty": with(func(p *v1.Pod) { p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{}} }),
		"preferred": with(func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{
				Weight: 1, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}}}}
		}),
		"preferred values split": with(func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{
				Weight: 1, Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"ss", "d"}}}}}}}}
		}),
	}
	keys := map[string]string{}
	for name, p := range pods {
		k, ok := equivalenceClass(p)
		if !ok {
			t.Fatalf("%s: no class", name)
		}
		if other, ok := keys[k]; ok {
			t.Errorf("%s and %s share a class", name, other)
		}
		keys[k] = name
	}
	// The same amounts written differently, and fields the filters do
	// not read, keep the class.
	for name, p := range map[string]*v1.Pod{
		"cpu 1000m": with(func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests[v1.ResourceCPU] = resource.MustParse("1000m") }),
		"mem 1024Mi": with(func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Requests[v1.ResourceMemory] = resource.MustParse("1024Mi")
		}),
		"image":     with(func(p *v1.Pod) { p.Spec.Containers[0].Image = "other" }),
		"namespace": with(func(p *v1.Pod) { p.Namespace = "other" }),
	} {
		if k, _ := equivalenceClass(p); keys[k] != "base" {
			t.Errorf("%s: not in the base class", name)
		}
	}
}

// TestClassCacheBySlot: entries hold while the node's slot and
// generation are the same; NodeInfos without a slot are never cached.
func TestClassCacheBySlot(t *testing.T) {
	e := newEquivalenceCache()
	c := e.class("k", 4)
	ni := framework.NewNodeInfo()
	ni.SetNode(frameworktest.Node("a", nil, "1", "1Gi"))
	ni.Slot, ni.Generation = 2, 10
	st := framework.NewStatus(framework.Unschedulable, "no")
	c.putFilter(ni, st)
	scores := classScores{c}
	scores.Put(ni, 3, []int64{7})
	if got, ok := c.filterStatus(ni); !ok || got != st {
		t.Errorf("filter status = %v, %v; want the status put", got, ok)
	}
	if got, ok := scores.Get(ni, 3); !ok || got[0] != 7 {
		t.Errorf("scores = %v, %v; want [7]", got, ok)
	}
	if _, ok := scores.Get(ni, 1); ok {
		t.Error("scores of another plugin set were returned")
	}
	// Another node given the slot later has another generation.
	other := ni.Clone()
	other.Generation = 11
	if _, ok := c.filterStatus(other); ok {
		t.Error("an entry of another generation was returned")
	}
	if _, ok := scores.Get(other, 3); ok {
		t.Error("scores of another generation were returned")
	}
	for _, slot := range []int32{0, 4, 100} {
		n := ni.Clone()
		n.Slot = slot
		c.putFilter(n, nil)
		if _, ok := c.filterStatus(n); ok {
			t.Errorf("slot %d: cached", slot)
		}
	}
	if c2 := e.class("k", 8); c2 != c || len(c.filter) != 8 {
		t.Errorf("class grew to %d slots (same class %v), want 8", len(c2.filter), c2 == c)
	}
	if got, ok := c.filterStatus(ni); !ok || got != st {
		t.Error("growing the class lost an entry")
	}
}
