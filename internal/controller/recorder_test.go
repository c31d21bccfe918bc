package controller

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestEventRecorderKeepsEveryObjectsEvents(t *testing.T) {
	client := fake.NewClientset()
	rec, stop := NewEventRecorder(client, "test-scheduler", nil)
	defer stop()

	const pods = 300
	for i := range pods {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("p%d", i), UID: "u"}}
		rec.Event(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned ns/"+pod.Name)
	}
	// The same event of one object, repeated, is aggregated into one Event
	// with a count: its events all pass through one correlator.
	repeated := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pending", UID: "u"}}
	for range 3 {
		rec.Event(repeated, corev1.EventTypeWarning, "FailedScheduling", "0/3 nodes are available")
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := client.CoreV1().Events("ns").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		scheduled, failed, failedCount := 0, 0, int32(0)
		for _, e := range list.Items {
			switch e.Reason {
			case "Scheduled":
				scheduled++
			case "FailedScheduling":
				failed++
				failedCount = e.Count
			}
		}
		if scheduled == pods && failed == 1 && failedCount == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Scheduled events (want %d), %d FailedScheduling events counting %d (want 1 counting 3)", scheduled, pods, failed, failedCount)
		}
		time.Sleep(20 * time.Millisecond) // polling the fake client's store
	}
}
