//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/nodesim"
)

// podLog follows the pods of a namespace and records, in watch order,
// each pod's first appearance (with whether its predecessor ordinal was
// ready at that moment) and the first sight of its deletion.
type podLog struct {
	mu       sync.Mutex
	created  []string
	deleting []string
	ready    map[string]bool
	readyAt  map[string]bool // pod name → predecessor ready when it appeared
	seenGone map[types.UID]bool
}

func followPods(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string) *podLog {
	t.Helper()
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	pl := &podLog{ready: map[string]bool{}, readyAt: map[string]bool{}, seenGone: map[types.UID]bool{}}
	done := make(chan struct{})
	t.Cleanup(func() { w.Stop(); <-done })
	go func() {
		defer close(done)
		for e := range w.ResultChan() {
			p, ok := e.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			pl.mu.Lock()
			if e.Type == watch.Added {
				pl.created = append(pl.created, p.Name)
				if i := strings.LastIndex(p.Name, "-"); i > 0 {
					var ord int
					fmt.Sscanf(p.Name[i+1:], "%d", &ord)
					pl.readyAt[p.Name] = ord == 0 || pl.ready[fmt.Sprintf("%s-%d", p.Name[:i], ord-1)]
				}
			}
			pl.ready[p.Name] = e.Type != watch.Deleted && p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && podReady(p)
			if (e.Type == watch.Deleted || p.DeletionTimestamp != nil) && !pl.seenGone[p.UID] {
				pl.seenGone[p.UID] = true
				pl.deleting = append(pl.deleting, p.Name)
			}
			pl.mu.Unlock()
		}
	}()
	return pl
}

func (pl *podLog) snapshot() (created, deleting []string, readyAt map[string]bool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	readyAt = map[string]bool{}
	for k, v := range pl.readyAt {
		readyAt[k] = v
	}
	return slices.Clone(pl.created), slices.Clone(pl.deleting), readyAt
}

func webSet(ns string) *appsv1.StatefulSet {
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "nginx", Image: "registry.k8s.io/nginx-slim:0.8",
					VolumeMounts: []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}},
				}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: resource.MustParse("1Gi"),
					}},
				},
			}},
		},
	}
}

func TestStatefulSetOrderedCreationAndPartitionedUpdate(t *testing.T) {
	s, cs := start(t)
	nodesimStart(t, s, nodesim.Config{Count: 3})
	ctx := ctxT(t)
	const ns = "sts"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "web", Port: 80}}},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pl := followPods(t, ctx, cs, ns)
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, webSet(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSet := func(what string, cond func(*appsv1.StatefulSet) bool) *appsv1.StatefulSet {
		t.Helper()
		var set *appsv1.StatefulSet
		eventually(t, wait, what, func() (bool, error) {
			var err error
			set, err = cs.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return cond(set), fmt.Errorf("status %+v", set.Status)
		})
		return set
	}
	set := waitSet("3 ready replicas", func(s *appsv1.StatefulSet) bool {
		return s.Status.ObservedGeneration == s.Generation && s.Status.ReadyReplicas == 3 && s.Status.Replicas == 3 &&
			s.Status.CurrentReplicas == 3 && s.Status.UpdatedReplicas == 3 && s.Status.AvailableReplicas == 3
	})
	rev1 := set.Status.CurrentRevision
	if rev1 == "" || rev1 != set.Status.UpdateRevision || !strings.HasPrefix(rev1, "web-") {
		t.Fatalf("revisions: current %q update %q", set.Status.CurrentRevision, set.Status.UpdateRevision)
	}

	created, _, readyAt := pl.snapshot()
	if want := []string{"web-0", "web-1", "web-2"}; !slices.Equal(created, want) {
		t.Fatalf("pods created in order %v, want %v", created, want)
	}
	for _, n := range created {
		if !readyAt[n] {
			t.Errorf("%s was created before its predecessor was Running and Ready", n)
		}
	}
	for i := range 3 {
		name := fmt.Sprintf("web-%d", i)
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.Hostname != name || p.Spec.Subdomain != "web" ||
			p.Labels["statefulset.kubernetes.io/pod-name"] != name || p.Labels["apps.kubernetes.io/pod-index"] != fmt.Sprint(i) ||
			p.Labels["controller-revision-hash"] != rev1 {
			t.Errorf("pod %s: hostname %q subdomain %q labels %v", name, p.Spec.Hostname, p.Spec.Subdomain, p.Labels)
		}
		claim := "www-" + name
		if len(p.Spec.Volumes) == 0 || p.Spec.Volumes[0].PersistentVolumeClaim == nil || p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != claim {
			t.Errorf("pod %s volumes %+v, want claim %s", name, p.Spec.Volumes, claim)
		}
		if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{}); err != nil {
			t.Errorf("claim %s: %v", claim, err)
		}
	}
	pvcs, err := cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pvcs.Items) != 3 {
		t.Fatalf("claims: %d, %v", len(pvcs.Items), err)
	}
	eventually(t, wait, "SuccessfulCreate event", func() (bool, error) {
		return hasEvent(ctx, cs, ns, "web", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful")
	})
	// The API server defaults partition to 0, so kubectl reports a
	// partitioned roll out.
	out, _ := kubectl(t, s, false, "rollout", "status", "sts/web", "-n", ns, "--timeout=30s")
	if !strings.Contains(out, "partitioned roll out complete: 3 new pods have been updated") {
		t.Errorf("rollout status: %s", out)
	}

	// Canary: partition 2 updates web-2 only.
	patch := `{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}},"template":{"spec":{"containers":[{"name":"nginx","image":"registry.k8s.io/nginx-slim:0.9"}]}}}}`
	if _, err := cs.AppsV1().StatefulSets(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	set = waitSet("canary on web-2", func(s *appsv1.StatefulSet) bool {
		return s.Status.ObservedGeneration == s.Generation && s.Status.UpdateRevision != rev1 &&
			s.Status.UpdatedReplicas == 1 && s.Status.ReadyReplicas == 3 && s.Status.CurrentRevision == rev1
	})
	rev2 := set.Status.UpdateRevision
	for i, want := range []string{rev1, rev1, rev2} {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("web-%d", i), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Labels["controller-revision-hash"]; got != want {
			t.Errorf("web-%d revision %s, want %s", i, got, want)
		}
	}
	out, _ = kubectl(t, s, false, "rollout", "status", "sts/web", "-n", ns, "--timeout=30s")
	if !strings.Contains(out, "partitioned roll out complete: 1 new pods have been updated") {
		t.Errorf("rollout status under partition: %s", out)
	}

	// partition 0: the rest, highest ordinal first.
	_, before, _ := pl.snapshot()
	patch = `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`
	if _, err := cs.AppsV1().StatefulSets(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	out, _ = kubectl(t, s, false, "rollout", "status", "sts/web", "-n", ns, "--timeout=60s")
	if !strings.Contains(out, "partitioned roll out complete: 3 new pods have been updated") {
		t.Errorf("rollout status: %s", out)
	}
	set = waitSet("all updated", func(s *appsv1.StatefulSet) bool {
		return s.Status.CurrentRevision == rev2 && s.Status.UpdatedReplicas == 3 && s.Status.CurrentReplicas == 3 && s.Status.ReadyReplicas == 3
	})
	_, after, _ := pl.snapshot()
	if got, want := after[len(before):], []string{"web-1", "web-0"}; !slices.Equal(got, want) {
		t.Errorf("pods replaced in order %v, want %v", got, want)
	}
	revs, err := cs.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range revs.Items {
		got[r.Name] = r.Revision
	}
	if len(got) != 2 || got[rev1] != 1 || got[rev2] != 2 {
		t.Errorf("controller revisions %v, want %s=1 %s=2", got, rev1, rev2)
	}
}
