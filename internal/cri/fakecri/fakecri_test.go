package fakecri

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
)

func TestDefaultExec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cmd  []string
		want cri.ExecResult
	}{
		{"echo", []string{"echo", "a", "b"}, cri.ExecResult{Stdout: []byte("a b\n")}},
		{"true", []string{"true"}, cri.ExecResult{}},
		{"false", []string{"/bin/false"}, cri.ExecResult{ExitCode: 1}},
		{"sh exit", []string{"sh", "-c", "exit 4"}, cri.ExecResult{ExitCode: 4}},
		{"sh echo", []string{"/bin/sh", "-c", "echo hi"}, cri.ExecResult{Stdout: []byte("hi\n")}},
		{"unknown", []string{"cat", "/x"}, cri.ExecResult{ExitCode: 127, Stderr: []byte("cat: not found\n")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DefaultExec("c", tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExitInjectAndCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(100, 0)
	r := New(Config{Now: func() time.Time { return now }, Images: []string{"busybox"}})
	sbCfg := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Namespace: "ns", Uid: "u"}, LogDirectory: "/logs/u"}
	sb, err := r.RunPodSandbox(ctx, sbCfg, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.CreateContainer(ctx, sb, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: "busybox"}, LogPath: "c/0.log",
	}, sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	r.InjectError("StartContainer", boom)
	if err := r.StartContainer(ctx, id); !errors.Is(err, boom) {
		t.Fatalf("injected error: got %v", err)
	}
	if err := r.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := r.ExitContainer(id, 0, ""); err != nil {
		t.Fatal(err)
	}
	st, err := r.ContainerStatus(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	want := &runtimeapi.ContainerStatus{
		Id: id, Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, State: runtimeapi.ContainerState_CONTAINER_EXITED,
		CreatedAt: now.UnixNano(), StartedAt: now.UnixNano(), FinishedAt: now.UnixNano(), Reason: "Completed",
		Image: &runtimeapi.ImageSpec{Image: "busybox"}, ImageRef: st.Status.ImageRef, LogPath: "/logs/u/c/0.log",
	}
	if diff := cmp.Diff(want, st.Status, protocmp.Transform()); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if err := r.ExitContainer(id, 1, ""); err == nil {
		t.Error("exiting an exited container succeeded")
	}
	wantCalls := []string{"RunPodSandbox", "CreateContainer", "StartContainer", "StartContainer", "ContainerStatus"}
	if diff := cmp.Diff(wantCalls, r.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestPullAddsImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := New(Config{})
	ref, err := r.PullImage(ctx, &runtimeapi.ImageSpec{Image: "nginx:1.27"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: "docker.io/library/nginx:1.27"}, false)
	if err != nil || st.Image.GetId() != ref {
		t.Fatalf("ImageStatus after pull = %v, %v; want %s", st, err, ref)
	}
	if err := r.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: ref}); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: "nginx:1.27"}, false); st.Image != nil {
		t.Error("image still present after RemoveImage")
	}
}
