package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestGracePeriod(t *testing.T) {
	t.Parallel()
	i := func(v int64) *int64 { return &v }
	cases := []struct {
		name      string
		pod       corev1.Pod
		requested *int64
		want      int64
	}{
		{name: "unscheduled", pod: corev1.Pod{}, requested: i(30), want: 0},
		{name: "scheduled default", pod: corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1"}}, want: 30},
		{name: "scheduled spec", pod: corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1", TerminationGracePeriodSeconds: i(5)}}, want: 5},
		{name: "requested wins", pod: corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1", TerminationGracePeriodSeconds: i(5)}}, requested: i(0), want: 0},
		{name: "finished", pod: corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := GracePeriod(&tc.pod, tc.requested); got != tc.want {
				t.Errorf("GracePeriod = %d, want %d", got, tc.want)
			}
		})
	}
}
