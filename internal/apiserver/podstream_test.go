package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/exec"
)

func testPod(containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

func TestPodContainer(t *testing.T) {
	t.Parallel()
	withInit := testPod("a", "b")
	withInit.Spec.InitContainers = []corev1.Container{{Name: "i"}}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		container string
		want      string
		wantErr   string
	}{
		{name: "only container", pod: testPod("a"), want: "a"},
		{name: "named", pod: testPod("a", "b"), container: "b", want: "b"},
		{name: "init container", pod: withInit, container: "i", want: "i"},
		{name: "must choose", pod: testPod("a", "b"), wantErr: "a container name must be specified for pod p, choose one of: [a b]"},
		{name: "must choose with init", pod: withInit, wantErr: "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]"},
		{name: "unknown", pod: testPod("a"), container: "z", wantErr: "container z is not valid for pod p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := podContainer(tc.pod, tc.container)
			if tc.wantErr != "" {
				if !apierrors.IsBadRequest(err) || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want BadRequest %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("podContainer = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCheckLogStatus(t *testing.T) {
	t.Parallel()
	status := func(phase corev1.PodPhase, cs ...corev1.ContainerStatus) *corev1.Pod {
		p := testPod("c")
		p.Status.Phase = phase
		p.Status.ContainerStatuses = cs
		return p
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	waiting := func(reason string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
	}
	terminated := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: "containerd://1"}}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		previous bool
		wantErr  string
	}{
		{name: "not reported yet", pod: status(corev1.PodPending), wantErr: `container "c" in pod "p" is waiting to start: ContainerCreating`},
		{name: "running", pod: status(corev1.PodRunning, corev1.ContainerStatus{Name: "c", State: running})},
		{name: "creating", pod: status(corev1.PodPending, corev1.ContainerStatus{Name: "c", State: waiting("ContainerCreating")}), wantErr: `container "c" in pod "p" is waiting to start: ContainerCreating`},
		{name: "image pull", pod: status(corev1.PodPending, corev1.ContainerStatus{Name: "c", State: waiting("ErrImagePull")}), wantErr: `container "c" in pod "p" is waiting to start: image can't be pulled`},
		{name: "crash loop shows the last run", pod: status(corev1.PodRunning, corev1.ContainerStatus{Name: "c", State: waiting("CrashLoopBackOff"), LastTerminationState: terminated})},
		{name: "terminated", pod: status(corev1.PodSucceeded, corev1.ContainerStatus{Name: "c", State: terminated})},
		{name: "previous missing", pod: status(corev1.PodRunning, corev1.ContainerStatus{Name: "c", State: running}), previous: true, wantErr: `previous terminated container "c" in pod "p" not found`},
		{name: "previous", pod: status(corev1.PodRunning, corev1.ContainerStatus{Name: "c", State: running, LastTerminationState: terminated}), previous: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLogStatus(tc.pod, "c", tc.previous)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.wantErr != "" && (!apierrors.IsBadRequest(err) || err.Error() != tc.wantErr):
				t.Errorf("err = %v, want BadRequest %q", err, tc.wantErr)
			}
		})
	}
}

func TestLogQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    string
		wantErr string
	}{
		{query: "container=a&follow=true&tailLines=3", want: "follow=true&tailLines=3"},
		{query: "previous=1&timestamps=false&limitBytes=10", want: "limitBytes=10&previous=true&timestamps=false"},
		{query: "sinceTime=2026-01-02T03:04:05%2B01:00", want: "sinceTime=2026-01-02T02%3A04%3A05Z"},
		{query: "tailLines=-1", wantErr: "tailLines: Invalid value: -1: must be greater than or equal to 0"},
		{query: "sinceSeconds=0", wantErr: "sinceSeconds: Invalid value: 0: must be greater than 0"},
		{query: "sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z", wantErr: "at most one of `sinceTime` or `sinceSeconds` may be specified"},
		{query: "follow=yes", wantErr: `invalid value "yes" for follow`},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := logQuery(q, "p")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.Encode() != tc.want {
				t.Errorf("logQuery = %q, %v; want %q", got.Encode(), err, tc.want)
			}
		})
	}
}

func TestSessionStatus(t *testing.T) {
	t.Parallel()
	if st := sessionStatus(nil); st.Status != metav1.StatusSuccess {
		t.Errorf("success: %+v", st)
	}
	st := sessionStatus(fmt.Errorf("wrapped: %w", exec.CodeExitError{Err: errors.New("command terminated with exit code 3"), Code: 3}))
	if st.Status != metav1.StatusFailure || st.Reason != "NonZeroExitCode" || st.Details == nil ||
		len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != "ExitCode" || st.Details.Causes[0].Message != "3" {
		t.Errorf("exit code 3: %+v", st)
	}
	if st := sessionStatus(errors.New("boom")); st.Status != metav1.StatusFailure || st.Message != "boom" || st.Details != nil {
		t.Errorf("failure: %+v", st)
	}
}

func TestOffersWebSocketProtocol(t *testing.T) {
	t.Parallel()
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Add("Sec-WebSocket-Protocol", "v4.channel.k8s.io, v5.channel.k8s.io")
	if !offersWebSocketProtocol(r, wsExecProtocol) {
		t.Error("v5 offered but not seen")
	}
	if offersWebSocketProtocol(r, wsPortForwardProtocol) {
		t.Error("port-forward tunnel seen but not offered")
	}
	r.Header.Set("Upgrade", "SPDY/3.1")
	if offersWebSocketProtocol(r, wsExecProtocol) {
		t.Error("a SPDY upgrade taken for WebSocket")
	}
}
