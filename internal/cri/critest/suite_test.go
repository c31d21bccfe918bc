package critest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
)

// target is one runtime under test.
type target struct {
	rt     cri.RuntimeService
	images cri.ImageService
	// image is a present image with sh, echo and sleep (busybox), named as
	// a user would ("busybox").
	image string
	// logDir is a directory sandboxes may keep container logs in.
	logDir string
}

// runSuite runs every conformance test against tg. The tests run in order
// and leave no sandbox behind.
func runSuite(t *testing.T, tg target) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ctx context.Context, tg target)
	}{
		{"Version", testVersion},
		{"Status", testStatus},
		{"Images", testImages},
		{"SandboxLifecycle", testSandboxLifecycle},
		{"ContainerLifecycle", testContainerLifecycle},
		{"StopSandboxStopsContainers", testStopSandboxStopsContainers},
		{"NotFound", testNotFound},
		{"DuplicateSandboxName", testDuplicateSandboxName},
		{"HostnameWithHostNetwork", testHostnameWithHostNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tc.fn(t, ctx, tg)
		})
	}
}

// sandboxConfig returns the config of a host-network sandbox named name
// (CNI is not set up in the suite). It has no hostname: runc cannot set one
// without a private UTS namespace, so the kubelet sets none for
// host-network pods (see testHostnameWithHostNetwork).
func sandboxConfig(tg target, name string) *runtimeapi.PodSandboxConfig {
	uid := fmt.Sprintf("%s-%d", name, time.Now().UnixNano())
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "critest", Uid: uid},
		LogDirectory: filepath.Join(tg.logDir, uid),
		Labels:       map[string]string{"critest": name},
		Annotations:  map[string]string{"critest/annotation": "a"},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
}

// runSandbox runs a sandbox and removes it when the test ends.
func runSandbox(t *testing.T, ctx context.Context, tg target, name string) (string, *runtimeapi.PodSandboxConfig) {
	t.Helper()
	cfg := sandboxConfig(tg, name)
	if err := os.MkdirAll(cfg.LogDirectory, 0o755); err != nil {
		t.Fatal(err)
	}
	id, err := tg.rt.RunPodSandbox(ctx, cfg, "")
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tg.rt.StopPodSandbox(ctx, id); err != nil && !cri.IsNotFound(err) {
			t.Errorf("cleanup: StopPodSandbox: %v", err)
		}
		if err := tg.rt.RemovePodSandbox(ctx, id); err != nil {
			t.Errorf("cleanup: RemovePodSandbox: %v", err)
		}
	})
	return id, cfg
}

func containerConfig(tg target, name string, cmd ...string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: name},
		Image:    &runtimeapi.ImageSpec{Image: tg.image},
		Command:  cmd,
		LogPath:  name + ".log",
		Labels:   map[string]string{"critest/container": name},
	}
}

func containerState(t *testing.T, ctx context.Context, tg target, id string) *runtimeapi.ContainerStatus {
	t.Helper()
	st, err := tg.rt.ContainerStatus(ctx, id, false)
	if err != nil {
		t.Fatalf("ContainerStatus: %v", err)
	}
	return st.Status
}

func testVersion(t *testing.T, ctx context.Context, tg target) {
	v, err := tg.rt.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.RuntimeApiVersion != "v1" || v.RuntimeName == "" || v.RuntimeVersion == "" {
		t.Errorf("Version = %+v, want CRI v1 and a runtime name and version", v)
	}
}

func testStatus(t *testing.T, ctx context.Context, tg target) {
	st, err := tg.rt.Status(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.GetStatus().GetConditions() {
		if c.Type == runtimeapi.RuntimeReady {
			if !c.Status {
				t.Errorf("RuntimeReady is false: %s %s", c.Reason, c.Message)
			}
			return
		}
	}
	t.Errorf("no RuntimeReady condition in %v", st)
}

func testImages(t *testing.T, ctx context.Context, tg target) {
	st, err := tg.images.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: tg.image}, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Image == nil {
		t.Fatalf("ImageStatus(%s): image not present", tg.image)
	}
	if !strings.HasPrefix(st.Image.Id, "sha256:") || st.Image.Size == 0 {
		t.Errorf("ImageStatus(%s) = %v, want a sha256 ID and a size", tg.image, st.Image)
	}
	full := "docker.io/library/" + tg.image + ":latest"
	if !contains(st.Image.RepoTags, full) {
		t.Errorf("RepoTags %v lack %s", st.Image.RepoTags, full)
	}
	byID, err := tg.images.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: st.Image.Id}, false)
	if err != nil || byID.Image == nil || byID.Image.Id != st.Image.Id {
		t.Errorf("ImageStatus by ID = %v, %v", byID, err)
	}

	missing, err := tg.images.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: "skiff.local/critest-missing:1"}, false)
	if err != nil {
		t.Fatalf("ImageStatus of a missing image: %v, want no error", err)
	}
	if missing.Image != nil {
		t.Errorf("ImageStatus of a missing image = %v, want nil", missing.Image)
	}
	if err := tg.images.RemoveImage(ctx, &runtimeapi.ImageSpec{Image: "skiff.local/critest-missing:1"}); err != nil {
		t.Errorf("RemoveImage of a missing image: %v, want no error", err)
	}

	all, err := tg.images.ListImages(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, img := range all {
		ids = append(ids, img.Id)
	}
	if !contains(ids, st.Image.Id) {
		t.Errorf("ListImages lacks %s: %v", st.Image.Id, ids)
	}
	filtered, err := tg.images.ListImages(ctx, &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: tg.image}})
	if err != nil {
		t.Fatal(err)
	}
	if len(filtered) != 1 || filtered[0].Id != st.Image.Id {
		t.Errorf("ListImages(filter %s) = %v, want only %s", tg.image, filtered, st.Image.Id)
	}

	fs, err := tg.images.ImageFsInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.ImageFilesystems) == 0 || fs.ImageFilesystems[0].GetFsId().GetMountpoint() == "" {
		t.Errorf("ImageFsInfo = %v, want a filesystem with a mountpoint", fs)
	}
}

func testSandboxLifecycle(t *testing.T, ctx context.Context, tg target) {
	id, cfg := runSandbox(t, ctx, tg, "lifecycle")
	st, err := tg.rt.PodSandboxStatus(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Status
	if s.Id != id || s.State != runtimeapi.PodSandboxState_SANDBOX_READY || s.CreatedAt == 0 {
		t.Errorf("status = %v, want %s ready with a creation time", s, id)
	}
	if s.Metadata.GetName() != cfg.Metadata.Name || s.Metadata.GetUid() != cfg.Metadata.Uid || s.Metadata.GetNamespace() != "critest" {
		t.Errorf("metadata = %v, want %v", s.Metadata, cfg.Metadata)
	}
	if s.Labels["critest"] != "lifecycle" || s.Annotations["critest/annotation"] != "a" {
		t.Errorf("labels %v, annotations %v", s.Labels, s.Annotations)
	}
	if got := s.GetLinux().GetNamespaces().GetOptions().GetNetwork(); got != runtimeapi.NamespaceMode_NODE {
		t.Errorf("network namespace mode %v, want NODE", got)
	}

	listed := func(filter *runtimeapi.PodSandboxFilter) []string {
		t.Helper()
		items, err := tg.rt.ListPodSandbox(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.Id)
		}
		return ids
	}
	byLabel := map[string]string{"critest": "lifecycle"}
	if got := listed(&runtimeapi.PodSandboxFilter{LabelSelector: byLabel}); len(got) != 1 || got[0] != id {
		t.Errorf("list by label = %v, want [%s]", got, id)
	}
	if got := listed(&runtimeapi.PodSandboxFilter{Id: id}); len(got) != 1 {
		t.Errorf("list by id = %v, want [%s]", got, id)
	}
	notReady := &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}
	if got := listed(&runtimeapi.PodSandboxFilter{LabelSelector: byLabel, State: notReady}); len(got) != 0 {
		t.Errorf("list not ready = %v, want none", got)
	}
	if !contains(listed(nil), id) {
		t.Errorf("list all lacks %s", id)
	}

	for i := 0; i < 2; i++ { // stopping is idempotent
		if err := tg.rt.StopPodSandbox(ctx, id); err != nil {
			t.Fatalf("StopPodSandbox #%d: %v", i+1, err)
		}
	}
	st, err = tg.rt.PodSandboxStatus(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.State != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("state after stop %v, want NOTREADY", st.Status.State)
	}
	if got := listed(&runtimeapi.PodSandboxFilter{LabelSelector: byLabel, State: notReady}); len(got) != 1 {
		t.Errorf("list not ready = %v, want [%s]", got, id)
	}
	for i := 0; i < 2; i++ { // removing is idempotent
		if err := tg.rt.RemovePodSandbox(ctx, id); err != nil {
			t.Fatalf("RemovePodSandbox #%d: %v", i+1, err)
		}
	}
	if _, err := tg.rt.PodSandboxStatus(ctx, id, false); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("PodSandboxStatus after remove: %v, want ErrNotFound", err)
	}
	if got := listed(&runtimeapi.PodSandboxFilter{LabelSelector: byLabel}); len(got) != 0 {
		t.Errorf("list after remove = %v, want none", got)
	}
}

func testContainerLifecycle(t *testing.T, ctx context.Context, tg target) {
	sb, sbCfg := runSandbox(t, ctx, tg, "containers")
	id, err := tg.rt.CreateContainer(ctx, sb, containerConfig(tg, "sleeper", "sleep", "3600"), sbCfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	st := containerState(t, ctx, tg, id)
	if st.State != runtimeapi.ContainerState_CONTAINER_CREATED || st.CreatedAt == 0 || st.StartedAt != 0 {
		t.Errorf("after create: %v", st)
	}
	if st.Metadata.GetName() != "sleeper" || !strings.HasPrefix(st.ImageRef, "sha256:") || st.Labels["critest/container"] != "sleeper" {
		t.Errorf("after create: metadata %v, image ref %q, labels %v", st.Metadata, st.ImageRef, st.Labels)
	}
	if want := filepath.Join(sbCfg.LogDirectory, "sleeper.log"); st.LogPath != want {
		t.Errorf("log path %q, want %q", st.LogPath, want)
	}
	list, err := tg.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{PodSandboxId: sb})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Id != id || list[0].PodSandboxId != sb {
		t.Errorf("ListContainers(sandbox) = %v, want [%s]", list, id)
	}

	if err := tg.rt.StartContainer(ctx, id); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	st = containerState(t, ctx, tg, id)
	if st.State != runtimeapi.ContainerState_CONTAINER_RUNNING || st.StartedAt == 0 {
		t.Errorf("after start: %v", st)
	}
	running := &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}
	if list, err := tg.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{State: running, LabelSelector: map[string]string{"critest/container": "sleeper"}}); err != nil || len(list) != 1 {
		t.Errorf("ListContainers(running, label) = %v, %v; want one", list, err)
	}

	res, err := tg.rt.ExecSync(ctx, id, []string{"echo", "hello", "world"}, 10*time.Second)
	if err != nil {
		t.Fatalf("ExecSync echo: %v", err)
	}
	if string(res.Stdout) != "hello world\n" || res.ExitCode != 0 {
		t.Errorf("ExecSync echo = %q, exit %d", res.Stdout, res.ExitCode)
	}
	res, err = tg.rt.ExecSync(ctx, id, []string{"sh", "-c", "exit 3"}, 10*time.Second)
	if err != nil || res.ExitCode != 3 {
		t.Errorf("ExecSync exit 3 = exit %d, %v", res.ExitCode, err)
	}
	exec, err := tg.rt.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: []string{"sh"}, Stdin: true, Stdout: true})
	if err != nil || !strings.HasPrefix(exec.GetUrl(), "http://") {
		t.Errorf("Exec = %v, %v; want an http URL", exec, err)
	}
	pf, err := tg.rt.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: sb, Port: []int32{80}})
	if err != nil || !strings.HasPrefix(pf.GetUrl(), "http://") {
		t.Errorf("PortForward = %v, %v; want an http URL", pf, err)
	}

	if err := tg.rt.StopContainer(ctx, id, 0); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	st = containerState(t, ctx, tg, id)
	if st.State != runtimeapi.ContainerState_CONTAINER_EXITED || st.FinishedAt < st.StartedAt || st.ExitCode != 137 {
		t.Errorf("after kill: state %v, exit code %d, finished %d (started %d); want EXITED 137", st.State, st.ExitCode, st.FinishedAt, st.StartedAt)
	}
	if err := tg.rt.StopContainer(ctx, id, 0); err != nil {
		t.Errorf("StopContainer of an exited container: %v", err)
	}
	if _, err := tg.rt.ExecSync(ctx, id, []string{"true"}, time.Second); err == nil {
		t.Error("ExecSync in an exited container succeeded")
	}
	for i := 0; i < 2; i++ {
		if err := tg.rt.RemoveContainer(ctx, id); err != nil {
			t.Fatalf("RemoveContainer #%d: %v", i+1, err)
		}
	}
	if _, err := tg.rt.ContainerStatus(ctx, id, false); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("ContainerStatus after remove: %v, want ErrNotFound", err)
	}
}

func testStopSandboxStopsContainers(t *testing.T, ctx context.Context, tg target) {
	sb, sbCfg := runSandbox(t, ctx, tg, "stopall")
	id, err := tg.rt.CreateContainer(ctx, sb, containerConfig(tg, "sleeper", "sleep", "3600"), sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := tg.rt.StopPodSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if st := containerState(t, ctx, tg, id); st.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Errorf("container state after stopping its sandbox: %v, want EXITED", st.State)
	}
	if _, err := tg.rt.CreateContainer(ctx, sb, containerConfig(tg, "late", "true"), sbCfg); err == nil {
		t.Error("CreateContainer in a stopped sandbox succeeded")
	}
	if err := tg.rt.RemovePodSandbox(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.rt.ContainerStatus(ctx, id, false); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("ContainerStatus after removing its sandbox: %v, want ErrNotFound", err)
	}
}

func testNotFound(t *testing.T, ctx context.Context, tg target) {
	const missing = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if _, err := tg.rt.PodSandboxStatus(ctx, missing, false); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("PodSandboxStatus: %v, want ErrNotFound", err)
	}
	if _, err := tg.rt.ContainerStatus(ctx, missing, false); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("ContainerStatus: %v, want ErrNotFound", err)
	}
	if err := tg.rt.StartContainer(ctx, missing); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("StartContainer: %v, want ErrNotFound", err)
	}
	if err := tg.rt.RemoveContainer(ctx, missing); err != nil {
		t.Errorf("RemoveContainer: %v, want no error", err)
	}
	if err := tg.rt.RemovePodSandbox(ctx, missing); err != nil {
		t.Errorf("RemovePodSandbox: %v, want no error", err)
	}
	if _, err := tg.rt.CreateContainer(ctx, missing, containerConfig(tg, "orphan", "true"), sandboxConfig(tg, "orphan")); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("CreateContainer in a missing sandbox: %v, want ErrNotFound", err)
	}
	if _, err := tg.rt.ExecSync(ctx, missing, []string{"true"}, time.Second); !errors.Is(err, cri.ErrNotFound) {
		t.Errorf("ExecSync: %v, want ErrNotFound", err)
	}
}

func testDuplicateSandboxName(t *testing.T, ctx context.Context, tg target) {
	_, cfg := runSandbox(t, ctx, tg, "dup")
	if id, err := tg.rt.RunPodSandbox(ctx, cfg, ""); err == nil {
		_ = tg.rt.RemovePodSandbox(ctx, id) // the test fails anyway
		t.Error("a second sandbox with the same metadata was created")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testHostnameWithHostNetwork(t *testing.T, ctx context.Context, tg target) {
	cfg := sandboxConfig(tg, "hostname")
	cfg.Hostname = "hostname"
	if id, err := tg.rt.RunPodSandbox(ctx, cfg, ""); err == nil {
		_ = tg.rt.RemovePodSandbox(ctx, id) // the test fails anyway
		t.Error("a host-network sandbox with a hostname was created")
	}
}
