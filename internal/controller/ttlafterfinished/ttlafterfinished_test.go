package ttlafterfinished

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func finishedJob(ttl *int32, cond batchv1.JobConditionType) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns", UID: "j-uid"},
		Spec:       batchv1.JobSpec{TTLSecondsAfterFinished: ttl},
	}
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)}}
	}
	return j
}

func TestSync(t *testing.T) {
	ten := int32(10)
	for _, tc := range []struct {
		name       string
		job        *batchv1.Job
		now        time.Time
		wantDelete bool
		wantWake   bool
	}{
		{"no ttl", finishedJob(nil, batchv1.JobComplete), t0.Add(time.Hour), false, false},
		{"running", finishedJob(&ten, ""), t0.Add(time.Hour), false, false},
		{"not yet", finishedJob(&ten, batchv1.JobComplete), t0.Add(5 * time.Second), false, true},
		{"expired complete", finishedJob(&ten, batchv1.JobComplete), t0.Add(10 * time.Second), true, false},
		{"expired failed", finishedJob(&ten, batchv1.JobFailed), t0.Add(time.Minute), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(tc.job)
			factory := informers.NewSharedInformerFactory(client, 0)
			fc := clocktesting.NewFakeClock(tc.now)
			c, err := New(Config{Client: client, Jobs: factory.Batch().V1().Jobs(), Clock: fc})
			if err != nil {
				t.Fatal(err)
			}
			if err := factory.Batch().V1().Jobs().Informer().GetIndexer().Add(tc.job); err != nil {
				t.Fatal(err)
			}
			if err := c.sync(context.Background(), "ns/j"); err != nil {
				t.Fatal(err)
			}
			var deleted *clienttesting.DeleteActionImpl
			for _, a := range client.Actions() {
				if d, ok := a.(clienttesting.DeleteActionImpl); ok {
					deleted = &d
				}
			}
			if (deleted != nil) != tc.wantDelete {
				t.Fatalf("deleted = %v, want %v (actions %v)", deleted != nil, tc.wantDelete, client.Actions())
			}
			if deleted != nil {
				o := deleted.GetDeleteOptions()
				if o.PropagationPolicy == nil || *o.PropagationPolicy != metav1.DeletePropagationBackground || o.Preconditions == nil || *o.Preconditions.UID != "j-uid" {
					t.Errorf("delete options = %+v", o)
				}
			}
			if fc.HasWaiters() != tc.wantWake {
				t.Errorf("wake-up armed = %v, want %v", fc.HasWaiters(), tc.wantWake)
			}
		})
	}
}
