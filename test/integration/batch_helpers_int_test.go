//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/nodesim"
	"github.com/skiff/skiff/internal/testutil"
)

// batchWait bounds a whole Job run.
const batchWait = 60 * time.Second

// newBatchCluster is newWorkloadCluster with a chance to tune the server
// (a fake controller clock, a shorter Job back-off).
func newBatchCluster(t *testing.T, ns string, nodes int, mutate func(*config.Server)) *workloadCluster {
	t.Helper()
	srv := testutil.StartServerWith(t, mutate)
	cs := srv.Client()
	sim := nodesimStart(t, srv, nodesim.Config{Count: nodes})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { runBinder(ctx, cs, sim.Nodes()) })
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return &workloadCluster{srv: srv, cs: cs, sim: sim, ns: ns}
}

// newJob returns a Job whose pods run command under restartPolicy Never.
func newJob(ns, name string, completions, parallelism int32, command ...string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			Completions: &completions,
			Parallelism: &parallelism,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "work", Image: "busybox", Command: command}},
			}},
		},
	}
}

// jobCondition returns j's condition of type ct, or nil.
func jobCondition(j *batchv1.Job, ct batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == ct {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

// waitJobCondition waits until Job ns/name has condition ct True.
func waitJobCondition(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, name string, ct batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	eventually(t, batchWait, "job "+name+" "+string(ct), func() (bool, error) {
		var err error
		if j, err = cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		c := jobCondition(j, ct)
		return c != nil && c.Status == corev1.ConditionTrue, fmt.Errorf("status %+v", j.Status)
	})
	return j
}

// hasEvent reports whether an event with reason (and a message containing
// msg) was recorded on the object named name in ns.
func hasEvent(ctx context.Context, cs kubernetes.Interface, ns, name, reason, msg string) (bool, error) {
	l, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	var seen []string
	for _, e := range l.Items {
		if e.InvolvedObject.Name != name {
			continue
		}
		seen = append(seen, e.Reason+": "+e.Message)
		if e.Reason == reason && strings.Contains(e.Message, msg) {
			return true, nil
		}
	}
	return false, fmt.Errorf("events of %s: %q", name, seen)
}

// activeWatch follows the pods of a namespace and remembers the largest
// number that were active (not terminal, not being deleted) at once.
type activeWatch struct {
	mu     sync.Mutex
	active map[string]bool
	peak   int
}

func watchActive(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string) *activeWatch {
	t.Helper()
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	aw := &activeWatch{active: map[string]bool{}}
	done := make(chan struct{})
	t.Cleanup(func() { w.Stop(); <-done })
	go func() {
		defer close(done)
		for e := range w.ResultChan() {
			p, ok := e.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			aw.mu.Lock()
			on := e.Type != watch.Deleted && p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
			if on {
				aw.active[p.Name] = true
			} else {
				delete(aw.active, p.Name)
			}
			aw.peak = max(aw.peak, len(aw.active))
			aw.mu.Unlock()
		}
	}()
	return aw
}

func (aw *activeWatch) max() int {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	return aw.peak
}
