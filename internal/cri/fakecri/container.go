package fakecri

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
)

type container struct {
	id        string
	sandboxID string
	config    *runtimeapi.ContainerConfig
	imageRef  string // the image ID
	logPath   string
	status    *runtimeapi.ContainerStatus
}

func (c *container) proto() *runtimeapi.Container {
	return &runtimeapi.Container{
		Id:           c.id,
		PodSandboxId: c.sandboxID,
		Metadata:     proto.Clone(c.config.Metadata).(*runtimeapi.ContainerMetadata),
		Image:        proto.Clone(c.status.Image).(*runtimeapi.ImageSpec),
		ImageRef:     c.imageRef,
		State:        c.status.State,
		CreatedAt:    c.status.CreatedAt,
		Labels:       copyMap(c.config.Labels),
		Annotations:  copyMap(c.config.Annotations),
	}
}

// CreateContainer implements cri.ContainerManager. The sandbox must be
// ready and the image present.
func (r *Runtime) CreateContainer(ctx context.Context, podSandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("CreateContainer"); err != nil {
		return "", err
	}
	md := config.GetMetadata()
	if md == nil || md.Name == "" {
		return "", fmt.Errorf("create container in %s: metadata name is required", podSandboxID)
	}
	op := "create container " + md.Name + " in " + podSandboxID
	s, err := r.sandbox(op, podSandboxID)
	if err != nil {
		return "", err
	}
	if s.state != runtimeapi.PodSandboxState_SANDBOX_READY {
		return "", fmt.Errorf("%s: sandbox is not ready", op)
	}
	for _, c := range r.containers {
		if c.sandboxID == s.id && proto.Equal(c.config.Metadata, md) {
			return "", fmt.Errorf("%s: %w: name reserved for %s", op, cri.ErrAlreadyExists, c.id)
		}
	}
	img := r.findImage(config.GetImage().GetImage())
	if img == nil {
		return "", fmt.Errorf("%s: image %s: %w", op, config.GetImage().GetImage(), cri.ErrNotFound)
	}
	c := &container{
		id:        newID(),
		sandboxID: s.id,
		config:    proto.Clone(config).(*runtimeapi.ContainerConfig),
		imageRef:  img.Id,
	}
	if dir := s.config.GetLogDirectory(); dir != "" && config.GetLogPath() != "" {
		c.logPath = filepath.Join(dir, config.GetLogPath())
	}
	var mounts []*runtimeapi.Mount
	for _, m := range config.Mounts {
		mounts = append(mounts, proto.Clone(m).(*runtimeapi.Mount))
	}
	c.status = &runtimeapi.ContainerStatus{
		Id:          c.id,
		Metadata:    proto.Clone(md).(*runtimeapi.ContainerMetadata),
		State:       runtimeapi.ContainerState_CONTAINER_CREATED,
		CreatedAt:   r.now(),
		Image:       proto.Clone(config.GetImage()).(*runtimeapi.ImageSpec),
		ImageRef:    img.Id,
		Labels:      copyMap(config.Labels),
		Annotations: copyMap(config.Annotations),
		LogPath:     c.logPath,
		Mounts:      mounts,
	}
	r.containers[c.id] = c
	return c.id, nil
}

// container returns the container with id or a unique prefix of it. r.mu
// must be held.
func (r *Runtime) container(op, id string) (*container, error) {
	if c, ok := r.containers[id]; ok {
		return c, nil
	}
	var found *container
	if id != "" {
		for cid, c := range r.containers {
			if strings.HasPrefix(cid, id) {
				if found != nil {
					return nil, fmt.Errorf("%s %s: ambiguous id", op, id)
				}
				found = c
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%s %s: %w", op, id, cri.ErrNotFound)
	}
	return found, nil
}

// StartContainer implements cri.ContainerManager.
func (r *Runtime) StartContainer(ctx context.Context, containerID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("StartContainer"); err != nil {
		return err
	}
	c, err := r.container("start container", containerID)
	if err != nil {
		return err
	}
	if c.status.State != runtimeapi.ContainerState_CONTAINER_CREATED {
		return fmt.Errorf("start container %s: container is in %s state", containerID, c.status.State)
	}
	c.status.State = runtimeapi.ContainerState_CONTAINER_RUNNING
	c.status.StartedAt = r.now()
	return nil
}

// exit marks a created or running container exited. r.mu must be held.
func (r *Runtime) exit(c *container, code int32, reason string) {
	if c.status.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		return
	}
	c.status.State = runtimeapi.ContainerState_CONTAINER_EXITED
	c.status.FinishedAt = r.now()
	c.status.ExitCode = code
	c.status.Reason = reason
}

// StopContainer implements cri.ContainerManager. The fake's processes are
// well behaved: with a timeout they exit 0 on SIGTERM ("Completed"); with
// none they are killed (137, "Error").
func (r *Runtime) StopContainer(ctx context.Context, containerID string, timeout time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("StopContainer"); err != nil {
		return err
	}
	c, err := r.container("stop container", containerID)
	if err != nil {
		return err
	}
	if timeout >= time.Second {
		r.exit(c, 0, "Completed")
	} else {
		r.exit(c, 137, "Error")
	}
	return nil
}

// ExitContainer makes a container exit on its own with code (reason
// "Completed" for 0, "Error" otherwise, or the given reason such as
// "OOMKilled").
func (r *Runtime) ExitContainer(containerID string, code int32, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.container("exit container", containerID)
	if err != nil {
		return err
	}
	if c.status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return fmt.Errorf("exit container %s: container is in %s state", containerID, c.status.State)
	}
	if reason == "" {
		reason = "Error"
		if code == 0 {
			reason = "Completed"
		}
	}
	r.exit(c, code, reason)
	return nil
}

// RemoveContainer implements cri.ContainerManager.
func (r *Runtime) RemoveContainer(ctx context.Context, containerID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("RemoveContainer"); err != nil {
		return err
	}
	if c, err := r.container("remove container", containerID); err == nil {
		delete(r.containers, c.id)
	}
	return nil
}

// ListContainers implements cri.ContainerManager.
func (r *Runtime) ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("ListContainers"); err != nil {
		return nil, err
	}
	var out []*runtimeapi.Container
	for _, c := range r.containers {
		if filter != nil {
			if filter.Id != "" && !strings.HasPrefix(c.id, filter.Id) {
				continue
			}
			if filter.PodSandboxId != "" && !strings.HasPrefix(c.sandboxID, filter.PodSandboxId) {
				continue
			}
			if filter.State != nil && filter.State.State != c.status.State {
				continue
			}
			if !matchLabels(filter.LabelSelector, c.config.Labels) {
				continue
			}
		}
		out = append(out, c.proto())
	}
	return out, nil
}

// ContainerStatus implements cri.ContainerManager.
func (r *Runtime) ContainerStatus(ctx context.Context, containerID string, verbose bool) (*runtimeapi.ContainerStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("ContainerStatus"); err != nil {
		return nil, err
	}
	c, err := r.container("container status", containerID)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ContainerStatusResponse{Status: proto.Clone(c.status).(*runtimeapi.ContainerStatus)}, nil
}

// ExecSync implements cri.Execer with Config.Exec; the container must be
// running.
func (r *Runtime) ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (cri.ExecResult, error) {
	r.mu.Lock()
	if err := r.call("ExecSync"); err != nil {
		r.mu.Unlock()
		return cri.ExecResult{}, err
	}
	c, err := r.container("exec in container", containerID)
	if err == nil && c.status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		err = fmt.Errorf("exec in container %s: container is in %s state", containerID, c.status.State)
	}
	r.mu.Unlock()
	if err != nil {
		return cri.ExecResult{}, err
	}
	return r.cfg.Exec(c.id, cmd)
}

// streamURL returns a fake streaming URL. r.mu must be held.
func (r *Runtime) streamURL(kind string) string {
	return r.cfg.StreamBaseURL + "/" + kind + "/" + newID()[:8]
}

// Exec implements cri.Streamer.
func (r *Runtime) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("Exec"); err != nil {
		return nil, err
	}
	c, err := r.container("exec url for container", req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if c.status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return nil, fmt.Errorf("exec url for container %s: container is in %s state", c.id, c.status.State)
	}
	return &runtimeapi.ExecResponse{Url: r.streamURL("exec")}, nil
}

// Attach implements cri.Streamer.
func (r *Runtime) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("Attach"); err != nil {
		return nil, err
	}
	if _, err := r.container("attach url for container", req.GetContainerId()); err != nil {
		return nil, err
	}
	return &runtimeapi.AttachResponse{Url: r.streamURL("attach")}, nil
}

// PortForward implements cri.Streamer.
func (r *Runtime) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("PortForward"); err != nil {
		return nil, err
	}
	if _, err := r.sandbox("port-forward url for pod sandbox", req.GetPodSandboxId()); err != nil {
		return nil, err
	}
	return &runtimeapi.PortForwardResponse{Url: r.streamURL("portforward")}, nil
}
