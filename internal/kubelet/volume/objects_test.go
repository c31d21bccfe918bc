package volume

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestClientObjectsCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"k": "v1"}})
	gets := 0
	client.PrependReactor("get", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets++
		return false, nil, nil
	})
	clk := clocktesting.NewFakeClock(time.Now())
	o := &ClientObjects{Client: client, TTL: 5 * time.Second, Clock: clk}

	cm, err := o.ConfigMap(ctx, "ns", "cfg")
	if err != nil || cm.Data["k"] != "v1" {
		t.Fatalf("ConfigMap = %v, %v", cm, err)
	}
	if _, err := client.CoreV1().ConfigMaps("ns").Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"k": "v2"}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.Step(time.Second)
	if _, err := o.ConfigMap(ctx, "ns", "cfg"); err != nil || gets != 1 {
		t.Errorf("within the TTL: err %v, %d GETs, want 1", err, gets)
	}
	clk.Step(5 * time.Second)
	if cm, err := o.ConfigMap(ctx, "ns", "cfg"); err != nil || cm.Data["k"] != "v2" || gets != 2 {
		t.Errorf("after the TTL: %v, %v, %d GETs; want v2 after 2", cm, err, gets)
	}

	// Missing objects are reported as upstream's kubelet does, and cached
	// as missing too.
	_, err = o.Secret(ctx, "ns", "nope")
	if !apierrors.IsNotFound(err) || err.Error() != `secret "nope" not found` {
		t.Errorf("missing secret: %v", err)
	}
	_, err = o.ConfigMap(ctx, "ns", "nope")
	if !apierrors.IsNotFound(err) || err.Error() != `configmap "nope" not found` {
		t.Errorf("missing configmap: %v", err)
	}
	before := gets
	if _, err := o.ConfigMap(ctx, "ns", "nope"); !apierrors.IsNotFound(err) || gets != before {
		t.Errorf("a missing object was fetched again within the TTL (%v)", err)
	}
}
