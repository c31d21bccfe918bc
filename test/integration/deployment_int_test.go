//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// rolloutWait bounds a whole rollout.
const rolloutWait = 60 * time.Second

func newDeployment(ns, name string, replicas int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// waitComplete waits until d has rolled out its current generation: all
// replicas updated and available, no old ones.
func waitComplete(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	eventually(t, rolloutWait, "deployment "+name+" complete", func() (bool, error) {
		var err error
		d, err = cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		n := *d.Spec.Replicas
		st := d.Status
		ok := st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == n && st.Replicas == n && st.AvailableReplicas == n && st.ReadyReplicas == n
		return ok, fmt.Errorf("status %+v", st)
	})
	return d
}

func ownedReplicaSets(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) ([]appsv1.ReplicaSet, error) {
	l, err := cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []appsv1.ReplicaSet
	for _, rs := range l.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == d.UID {
			out = append(out, rs)
		}
	}
	return out, nil
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func TestDeploymentScale(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "scale", 3, 0)
	ctx := ctxT(t)
	kubectl(t, c.srv, false, "-n", c.ns, "create", "deployment", "web", "--image=nginx:1", "--replicas=3")
	for _, n := range []int{3, 10, 2} {
		if n != 3 {
			kubectl(t, c.srv, false, "-n", c.ns, "scale", "deployment/web", fmt.Sprintf("--replicas=%d", n))
		}
		d := waitComplete(t, ctx, c.cs, c.ns, "web")
		eventually(t, wait, fmt.Sprintf("%d active pods", n), func() (bool, error) {
			pods, err := activePods(ctx, c.cs, c.ns, "app=web")
			return err == nil && len(pods) == n, fmt.Errorf("%d pods: %s (err %v)", len(pods), describePods(pods), err)
		})
		rss, err := ownedReplicaSets(ctx, c.cs, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(rss) != 1 {
			t.Fatalf("after scaling to %d: %d ReplicaSets, want 1", n, len(rss))
		}
		rs := rss[0]
		hash := rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		if hash == "" || rs.Name != "web-"+hash || rs.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
			t.Errorf("ReplicaSet %s: labels %v selector %v, want name web-<pod-template-hash> and the hash in the selector", rs.Name, rs.Labels, rs.Spec.Selector)
		}
		if got := rs.Annotations["deployment.kubernetes.io/desired-replicas"]; got != fmt.Sprint(n) {
			t.Errorf("desired-replicas = %q, want %d", got, n)
		}
		if d.Annotations["deployment.kubernetes.io/revision"] != "1" || rs.Annotations["deployment.kubernetes.io/revision"] != "1" {
			t.Errorf("revision annotations: deployment %q, rs %q; want 1", d.Annotations["deployment.kubernetes.io/revision"], rs.Annotations["deployment.kubernetes.io/revision"])
		}
		if av := condition(d, appsv1.DeploymentAvailable); av == nil || av.Status != corev1.ConditionTrue || av.Reason != "MinimumReplicasAvailable" {
			t.Errorf("Available condition = %+v", av)
		}
		if pr := condition(d, appsv1.DeploymentProgressing); pr == nil || pr.Reason != "NewReplicaSetAvailable" {
			t.Errorf("Progressing condition = %+v", pr)
		}
	}
	out, _ := kubectl(t, c.srv, false, "-n", c.ns, "get", "events", "--field-selector", "involvedObject.kind=Deployment", "-o", "custom-columns=R:.reason,M:.message", "--no-headers")
	for _, want := range []string{"Scaled up replica set web-", "from 0 to 3", "from 3 to 10", "Scaled down replica set web-"} {
		if !strings.Contains(out, want) {
			t.Errorf("deployment events lack %q:\n%s", want, out)
		}
	}
}

// availabilityWatch follows the pods of a selector and records the lowest
// number of ready, non-terminating pods seen once armed.
type availabilityWatch struct {
	mu    sync.Mutex
	pods  map[string]*corev1.Pod
	min   int
	armed bool
}

func (w *availabilityWatch) readyCount() int {
	n := 0
	for _, p := range w.pods {
		if p.DeletionTimestamp == nil && podReady(p) {
			n++
		}
	}
	return n
}

func (w *availabilityWatch) observe(e watch.Event) {
	p, ok := e.Object.(*corev1.Pod)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if e.Type == watch.Deleted {
		delete(w.pods, p.Name)
	} else {
		w.pods[p.Name] = p
	}
	if w.armed {
		w.min = min(w.min, w.readyCount())
	}
}

func (w *availabilityWatch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.min = true, w.readyCount()
}

func (w *availabilityWatch) minimum() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.min
}

// watchAvailability starts following pods matching selector in ns.
func watchAvailability(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, selector string) *availabilityWatch {
	t.Helper()
	w := &availabilityWatch{pods: map[string]*corev1.Pod{}}
	wi, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range wi.ResultChan() {
			w.observe(e)
		}
	}()
	t.Cleanup(func() { wi.Stop(); <-done })
	return w
}

func TestDeploymentRollingUpdateHistoryUndo(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "rolling", 3, 200*time.Millisecond)
	ctx := ctxT(t)
	d := newDeployment(c.ns, "web", 6, "nginx:1")
	one, two := intstr.FromInt32(1), intstr.FromInt32(2)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &one, MaxSurge: &two}}
	d.Spec.MinReadySeconds = 1
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "initial nginx:1"}
	if _, err := c.cs.AppsV1().Deployments(c.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, ctx, c.cs, c.ns, "web")

	w := watchAvailability(t, ctx, c.cs, c.ns, "app=web")
	eventually(t, wait, "watch sees 6 ready pods", func() (bool, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.readyCount() == 6, nil
	})
	w.arm()
	kubectl(t, c.srv, false, "-n", c.ns, "set", "image", "deployment/web", "app=nginx:2")
	kubectl(t, c.srv, false, "-n", c.ns, "annotate", "deployment/web", "--overwrite", "kubernetes.io/change-cause=upgrade to nginx:2")
	out, _ := kubectl(t, c.srv, false, "-n", c.ns, "rollout", "status", "deployment/web", "--timeout=60s")
	if !strings.Contains(out, "successfully rolled out") {
		t.Errorf("rollout status: %s", out)
	}
	final := waitComplete(t, ctx, c.cs, c.ns, "web")
	if got := w.minimum(); got < 5 {
		t.Errorf("ready pods dropped to %d during the rollout; maxUnavailable=1 allows no fewer than 5", got)
	}
	t.Logf("minimum ready pods during rollout: %d of 6", w.minimum())
	if final.Annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Errorf("deployment revision = %q, want 2", final.Annotations["deployment.kubernetes.io/revision"])
	}

	eventually(t, wait, "change-cause copied to the new ReplicaSet", func() (bool, error) {
		out, _ := kubectl(t, c.srv, true, "-n", c.ns, "rollout", "history", "deployment/web")
		return strings.Contains(out, "CHANGE-CAUSE") && strings.Contains(out, "initial nginx:1") && strings.Contains(out, "upgrade to nginx:2"), fmt.Errorf("%s", out)
	})

	out, _ = kubectl(t, c.srv, false, "-n", c.ns, "rollout", "undo", "deployment/web", "--to-revision=1")
	if !strings.Contains(out, "rolled back") {
		t.Errorf("undo: %s", out)
	}
	kubectl(t, c.srv, false, "-n", c.ns, "rollout", "status", "deployment/web", "--timeout=60s")
	final = waitComplete(t, ctx, c.cs, c.ns, "web")
	if img := final.Spec.Template.Spec.Containers[0].Image; img != "nginx:1" {
		t.Errorf("image after undo = %s, want nginx:1", img)
	}
	rss, err := ownedReplicaSets(ctx, c.cs, final)
	if err != nil {
		t.Fatal(err)
	}
	revs := map[string]string{}
	for _, rs := range rss {
		revs[rs.Spec.Template.Spec.Containers[0].Image] = rs.Annotations["deployment.kubernetes.io/revision"]
	}
	if len(rss) != 2 || revs["nginx:1"] != "3" || revs["nginx:2"] != "2" {
		t.Errorf("after undo: revisions by image %v, want nginx:1 at 3 (reused ReplicaSet) and nginx:2 at 2", revs)
	}
	out, _ = kubectl(t, c.srv, false, "-n", c.ns, "rollout", "history", "deployment/web")
	if strings.Contains(out, "\n1 ") || !strings.Contains(out, "\n3 ") {
		t.Errorf("history after undo should list revisions 2 and 3:\n%s", out)
	}
	// Undoing to the revision already running is skipped by kubectl.
	out, _ = kubectl(t, c.srv, true, "-n", c.ns, "rollout", "undo", "deployment/web", "--to-revision=3")
	if !strings.Contains(out, "skipped rollback") {
		t.Errorf("undo to the current revision: %s", out)
	}
}

func TestDeploymentPauseResume(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "pause", 2, 0)
	ctx := ctxT(t)
	if _, err := c.cs.AppsV1().Deployments(c.ns).Create(ctx, newDeployment(c.ns, "web", 3, "nginx:1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, ctx, c.cs, c.ns, "web")
	kubectl(t, c.srv, false, "-n", c.ns, "rollout", "pause", "deployment/web")
	kubectl(t, c.srv, false, "-n", c.ns, "set", "image", "deployment/web", "app=nginx:2")
	kubectl(t, c.srv, false, "-n", c.ns, "set", "env", "deployment/web", "MODE=two")
	var d *appsv1.Deployment
	eventually(t, wait, "paused deployment observed", func() (bool, error) {
		var err error
		d, err = c.cs.AppsV1().Deployments(c.ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pr := condition(d, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && pr != nil && pr.Reason == "DeploymentPaused" && pr.Status == corev1.ConditionUnknown,
			fmt.Errorf("status %+v", d.Status)
	})
	if rss, _ := ownedReplicaSets(ctx, c.cs, d); len(rss) != 1 {
		t.Fatalf("paused deployment has %d ReplicaSets, want 1", len(rss))
	}
	kubectl(t, c.srv, false, "-n", c.ns, "rollout", "resume", "deployment/web")
	kubectl(t, c.srv, false, "-n", c.ns, "rollout", "status", "deployment/web", "--timeout=60s")
	d = waitComplete(t, ctx, c.cs, c.ns, "web")
	rss, err := ownedReplicaSets(ctx, c.cs, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(rss) != 2 {
		t.Fatalf("after resume: %d ReplicaSets, want 2 (both changes in one rollout)", len(rss))
	}
	for _, rs := range rss {
		if rs.Annotations["deployment.kubernetes.io/revision"] == "2" {
			ct := rs.Spec.Template.Spec.Containers[0]
			if ct.Image != "nginx:2" || len(ct.Env) != 1 || ct.Env[0].Value != "two" {
				t.Errorf("revision 2 template: image %s env %v; want both changes", ct.Image, ct.Env)
			}
		}
	}

	// rollout restart stamps the template and rolls a third ReplicaSet.
	kubectl(t, c.srv, false, "-n", c.ns, "rollout", "restart", "deployment/web")
	kubectl(t, c.srv, false, "-n", c.ns, "rollout", "status", "deployment/web", "--timeout=60s")
	d = waitComplete(t, ctx, c.cs, c.ns, "web")
	if d.Annotations["deployment.kubernetes.io/revision"] != "3" {
		t.Errorf("revision after restart = %q, want 3", d.Annotations["deployment.kubernetes.io/revision"])
	}
}

func TestDeploymentProgressDeadlineExceeded(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "deadline", 2, 0)
	ctx := ctxT(t)
	d := newDeployment(c.ns, "stuck", 2, "nginx:1")
	deadline := int32(2)
	d.Spec.ProgressDeadlineSeconds = &deadline
	d.Spec.Template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}},
	}
	if _, err := c.cs.AppsV1().Deployments(c.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "Progressing=False ProgressDeadlineExceeded", func() (bool, error) {
		got, err := c.cs.AppsV1().Deployments(c.ns).Get(ctx, "stuck", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pr := condition(got, appsv1.DeploymentProgressing)
		if pr == nil || pr.Status != corev1.ConditionFalse || pr.Reason != "ProgressDeadlineExceeded" {
			return false, fmt.Errorf("conditions %+v", got.Status.Conditions)
		}
		if !strings.HasPrefix(pr.Message, `ReplicaSet "stuck-`) || !strings.HasSuffix(pr.Message, `" has timed out progressing.`) {
			t.Errorf("message = %q", pr.Message)
		}
		av := condition(got, appsv1.DeploymentAvailable)
		return av != nil && av.Status == corev1.ConditionFalse && av.Reason == "MinimumReplicasUnavailable", fmt.Errorf("available %+v", av)
	})
	out, err := kubectl(t, c.srv, true, "-n", c.ns, "rollout", "status", "deployment/stuck", "--timeout=20s")
	if err == nil || !strings.Contains(out, "exceeded its progress deadline") {
		t.Errorf("rollout status of a stuck deployment: err %v, output %s", err, out)
	}
}

func TestDeploymentSurvivesRestartMidRollout(t *testing.T) {
	t.Parallel()
	c := newWorkloadCluster(t, "restart", 3, 300*time.Millisecond)
	ctx := ctxT(t)
	d := newDeployment(c.ns, "web", 6, "nginx:1")
	one := intstr.FromInt32(1)
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &one, MaxSurge: &one}}
	d.Spec.MinReadySeconds = 1
	if _, err := c.cs.AppsV1().Deployments(c.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, ctx, c.cs, c.ns, "web")
	kubectl(t, c.srv, false, "-n", c.ns, "set", "image", "deployment/web", "app=nginx:2")
	eventually(t, wait, "rollout under way", func() (bool, error) {
		got, err := c.cs.AppsV1().Deployments(c.ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return got.Status.UpdatedReplicas > 0 && got.Status.UpdatedReplicas < 6, fmt.Errorf("status %+v", got.Status)
	})
	c.srv.Restart()
	cs := c.srv.Client()
	got := waitComplete(t, ctx, cs, c.ns, "web")
	if img := got.Spec.Template.Spec.Containers[0].Image; img != "nginx:2" {
		t.Fatalf("image %s", img)
	}
	eventually(t, wait, "only new pods left", func() (bool, error) {
		pods, err := activePods(ctx, cs, c.ns, "app=web")
		if err != nil {
			return false, err
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != "nginx:2" {
				return false, fmt.Errorf("old pod %s", p.Name)
			}
		}
		return len(pods) == 6, fmt.Errorf("%d pods", len(pods))
	})
}
