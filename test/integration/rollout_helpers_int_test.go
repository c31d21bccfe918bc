//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/nodesim"
	"github.com/skiff/skiff/internal/testutil"
)

// workloadCluster is a server with simulated nodes and a stand-in
// scheduler that binds every unbound pod round-robin to them, so that
// pods of ReplicaSets become Running and Ready.
type workloadCluster struct {
	srv *testutil.Server
	cs  kubernetes.Interface
	sim *nodesim.Simulator
	ns  string
}

// newWorkloadCluster starts a server, nodes simulated nodes (pods start
// after podStart) and the binder, and creates namespace ns; all of it
// stops when the test ends.
func newWorkloadCluster(t *testing.T, ns string, nodes int, podStart time.Duration) *workloadCluster {
	t.Helper()
	srv := testutil.StartServer(t)
	cs := srv.Client()
	simClient, err := nodesim.NewClient(srv.RESTConfig())
	if err != nil {
		t.Fatalf("sim client: %v", err)
	}
	sim, err := nodesim.New(nodesim.Config{Client: simClient, Count: nodes, PodStartDelay: podStart})
	if err != nil {
		t.Fatalf("nodesim: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		if err := sim.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("nodesim: %v", err)
		}
	})
	select {
	case <-sim.Ready():
	case <-time.After(wait):
		t.Fatal("simulated nodes not ready")
	}
	wg.Go(func() { runBinder(ctx, cs, sim.Nodes()) })
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return &workloadCluster{srv: srv, cs: cs, sim: sim, ns: ns}
}

// runBinder binds unbound pods to nodes round-robin until ctx ends.
func runBinder(ctx context.Context, cs kubernetes.Interface, nodes []string) {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=" }))
	keys := make(chan *corev1.Pod, 4096)
	push := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
			select {
			case keys <- p:
			case <-ctx.Done():
			}
		}
	}
	inf := f.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: push}) // a fresh informer accepts handlers
	f.Start(ctx.Done())
	defer f.Shutdown()
	next := 0
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-keys:
			node := nodes[next%len(nodes)]
			next++
			b := &corev1.Binding{
				ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
				Target:     corev1.ObjectReference{Kind: "Node", Name: node},
			}
			err := cs.CoreV1().Pods(p.Namespace).Bind(ctx, b, metav1.CreateOptions{})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
				// The server may be restarting: try again shortly.
				time.AfterFunc(100*time.Millisecond, func() { push(p) })
			}
		}
	}
}

// kubectl runs /usr/bin/kubectl against s and returns its combined
// output; it fails the test on a non-zero exit unless allowFail.
func kubectl(t *testing.T, s *testutil.Server, allowFail bool, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("/usr/bin/kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig())
	out, err := cmd.CombinedOutput()
	if err != nil && !allowFail {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), err
}

// activePods lists the pods of namespace matching selector that are not
// being deleted.
func activePods(ctx context.Context, cs kubernetes.Interface, ns, selector string) ([]corev1.Pod, error) {
	l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
			out = append(out, p)
		}
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func describePods(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "%s node=%q phase=%s ready=%v; ", p.Name, p.Spec.NodeName, p.Status.Phase, podReady(&p))
	}
	return b.String()
}
