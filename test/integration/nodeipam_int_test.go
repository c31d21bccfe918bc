//go:build integration

package integration

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/testutil"
)

// TestNodeIPAM gives nodes /24s of a --cluster-cidr with room for two: the
// third node gets a CIDRNotAvailable event; across a server restart no
// block is handed out twice, and deleting a node frees its block for the
// waiting one.
func TestNodeIPAM(t *testing.T) {
	t.Parallel()
	s := testutil.StartServerWith(t, func(c *config.Server) { c.ClusterCIDR = "10.99.0.0/23" })
	cs := s.Client()
	ctx := ctxT(t)
	create := func(name string) {
		t.Helper()
		if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	podCIDR := func(name string) string {
		t.Helper()
		var got string
		eventually(t, wait, "a pod CIDR on node "+name, func() (bool, error) {
			n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if len(n.Spec.PodCIDRs) == 1 && n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
				t.Fatalf("node %s: podCIDR %q, podCIDRs %v", name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
			}
			got = n.Spec.PodCIDR
			return got != "", nil
		})
		return got
	}
	create("a")
	create("b")
	a, b := podCIDR("a"), podCIDR("b")
	blocks := []string{a, b}
	slices.Sort(blocks)
	if !slices.Equal(blocks, []string{"10.99.0.0/24", "10.99.1.0/24"}) {
		t.Fatalf("nodes got %v, want the two /24s of 10.99.0.0/23", blocks)
	}

	create("c")
	eventually(t, wait, "a CIDRNotAvailable event on node c", func() (bool, error) {
		evs, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "c").String(),
		})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "CIDRNotAvailable" && e.InvolvedObject.Kind == "Node" && e.Message == "Node c status is now: CIDRNotAvailable" {
				return true, nil
			}
		}
		return false, nil
	})

	// A restarted controller rebuilds the used set from the Nodes: c must
	// still wait, and get a's block only once a is deleted.
	s.Restart()
	cs = s.Client()
	create("d")
	if err := cs.CoreV1().Nodes().Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	eventually(t, wait, "a's block handed to c or d", func() (bool, error) {
		got = got[:0]
		for _, name := range []string{"b", "c", "d"} {
			n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			got = append(got, n.Spec.PodCIDR)
		}
		return got[1] != "" || got[2] != "", nil
	})
	if got[0] != b {
		t.Errorf("node b's block changed from %s to %s", b, got[0])
	}
	if got[1] != "" && got[2] != "" {
		t.Fatalf("both c and d got a block (%v) with one free", got)
	}
	if got[1] != a && got[2] != a {
		t.Errorf("c and d got %v; want a's released %s", got[1:], a)
	}
}
