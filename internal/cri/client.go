package cri

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxMsgSize bounds CRI messages (lists of many containers or images).
const maxMsgSize = 16 << 20

// Client is a CRI v1 client over gRPC. It implements RuntimeService and
// ImageService, is safe for concurrent use, and must be closed.
type Client struct {
	conn    *grpc.ClientConn
	runtime runtimeapi.RuntimeServiceClient
	images  runtimeapi.ImageServiceClient
}

var (
	_ RuntimeService = (*Client)(nil)
	_ ImageService   = (*Client)(nil)
)

// Dial returns a client for the CRI endpoint, a unix socket given as
// "unix:///run/x.sock" or "/run/x.sock". It does not connect: the first
// call does, and fails if the runtime is not there (call Version to check).
func Dial(endpoint string) (*Client, error) {
	path, ok := strings.CutPrefix(endpoint, "unix://")
	if !ok && !strings.HasPrefix(endpoint, "/") {
		return nil, fmt.Errorf("cri endpoint %q: only unix sockets are supported", endpoint)
	}
	if !ok {
		path = endpoint
	}
	conn, err := grpc.NewClient("unix://"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("cri endpoint %q: %w", endpoint, err)
	}
	return &Client{
		conn:    conn,
		runtime: runtimeapi.NewRuntimeServiceClient(conn),
		images:  runtimeapi.NewImageServiceClient(conn),
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// wrap names the call and object in err and translates gRPC codes into
// the package's sentinel errors (the status message is kept).
func wrap(err error, op, id string) error {
	if err == nil {
		return nil
	}
	if id != "" {
		op += " " + id
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", op, err)
	}
	var sentinel error
	switch st.Code() {
	case codes.NotFound:
		sentinel = ErrNotFound
	case codes.AlreadyExists:
		sentinel = ErrAlreadyExists
	case codes.Unimplemented:
		sentinel = ErrUnimplemented
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %s", op, sentinel, st.Message())
}

// IsNotFound reports whether err means the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Version implements Versioner.
func (c *Client) Version(ctx context.Context) (*runtimeapi.VersionResponse, error) {
	resp, err := c.runtime.Version(ctx, &runtimeapi.VersionRequest{Version: "v1"})
	return resp, wrap(err, "version", "")
}

// Status implements StatusReporter.
func (c *Client) Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error) {
	resp, err := c.runtime.Status(ctx, &runtimeapi.StatusRequest{Verbose: verbose})
	return resp, wrap(err, "runtime status", "")
}

// RunPodSandbox implements SandboxManager.
func (c *Client) RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error) {
	resp, err := c.runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: config, RuntimeHandler: runtimeHandler})
	if err != nil {
		return "", wrap(err, "run pod sandbox", sandboxName(config))
	}
	return resp.PodSandboxId, nil
}

// StopPodSandbox implements SandboxManager.
func (c *Client) StopPodSandbox(ctx context.Context, podSandboxID string) error {
	_, err := c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podSandboxID})
	return wrap(err, "stop pod sandbox", podSandboxID)
}

// RemovePodSandbox implements SandboxManager.
func (c *Client) RemovePodSandbox(ctx context.Context, podSandboxID string) error {
	_, err := c.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podSandboxID})
	return wrap(err, "remove pod sandbox", podSandboxID)
}

// PodSandboxStatus implements SandboxManager.
func (c *Client) PodSandboxStatus(ctx context.Context, podSandboxID string, verbose bool) (*runtimeapi.PodSandboxStatusResponse, error) {
	resp, err := c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podSandboxID, Verbose: verbose})
	return resp, wrap(err, "pod sandbox status", podSandboxID)
}

// ListPodSandbox implements SandboxManager.
func (c *Client) ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	resp, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: filter})
	if err != nil {
		return nil, wrap(err, "list pod sandboxes", "")
	}
	return resp.Items, nil
}

// CreateContainer implements ContainerManager.
func (c *Client) CreateContainer(ctx context.Context, podSandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	resp, err := c.runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podSandboxID, Config: config, SandboxConfig: sandboxConfig})
	if err != nil {
		name := ""
		if config.GetMetadata() != nil {
			name = config.GetMetadata().GetName()
		}
		return "", wrap(err, "create container", name+" in "+podSandboxID)
	}
	return resp.ContainerId, nil
}

// StartContainer implements ContainerManager.
func (c *Client) StartContainer(ctx context.Context, containerID string) error {
	_, err := c.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: containerID})
	return wrap(err, "start container", containerID)
}

// StopContainer implements ContainerManager.
func (c *Client) StopContainer(ctx context.Context, containerID string, timeout time.Duration) error {
	_, err := c.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: containerID, Timeout: int64(timeout / time.Second)})
	return wrap(err, "stop container", containerID)
}

// RemoveContainer implements ContainerManager.
func (c *Client) RemoveContainer(ctx context.Context, containerID string) error {
	_, err := c.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: containerID})
	return wrap(err, "remove container", containerID)
}

// ListContainers implements ContainerManager.
func (c *Client) ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	resp, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: filter})
	if err != nil {
		return nil, wrap(err, "list containers", "")
	}
	return resp.Containers, nil
}

// ContainerStatus implements ContainerManager.
func (c *Client) ContainerStatus(ctx context.Context, containerID string, verbose bool) (*runtimeapi.ContainerStatusResponse, error) {
	resp, err := c.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: containerID, Verbose: verbose})
	return resp, wrap(err, "container status", containerID)
}

// ExecSync implements Execer. The timeout is rounded up to whole seconds,
// the CRI's unit.
func (c *Client) ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (ExecResult, error) {
	secs := int64((timeout + time.Second - 1) / time.Second)
	resp, err := c.runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: containerID, Cmd: cmd, Timeout: secs})
	if err != nil {
		return ExecResult{}, wrap(err, "exec in container", containerID)
	}
	return ExecResult{Stdout: resp.Stdout, Stderr: resp.Stderr, ExitCode: resp.ExitCode}, nil
}

// Exec implements Streamer.
func (c *Client) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	resp, err := c.runtime.Exec(ctx, req)
	return resp, wrap(err, "exec url for container", req.GetContainerId())
}

// Attach implements Streamer.
func (c *Client) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	resp, err := c.runtime.Attach(ctx, req)
	return resp, wrap(err, "attach url for container", req.GetContainerId())
}

// PortForward implements Streamer.
func (c *Client) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	resp, err := c.runtime.PortForward(ctx, req)
	return resp, wrap(err, "port-forward url for pod sandbox", req.GetPodSandboxId())
}

// PullImage implements ImageManager.
func (c *Client) PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	resp, err := c.images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: image, Auth: auth, SandboxConfig: sandboxConfig})
	if err != nil {
		return "", wrap(err, "pull image", image.GetImage())
	}
	return resp.ImageRef, nil
}

// ImageStatus implements ImageManager.
func (c *Client) ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.ImageStatusResponse, error) {
	resp, err := c.images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: image, Verbose: verbose})
	return resp, wrap(err, "image status", image.GetImage())
}

// ListImages implements ImageManager. The filter is applied here too,
// because containerd 1.6 ignores it.
func (c *Client) ListImages(ctx context.Context, filter *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error) {
	resp, err := c.images.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: filter})
	if err != nil {
		return nil, wrap(err, "list images", "")
	}
	want := filter.GetImage().GetImage()
	if want == "" {
		return resp.Images, nil
	}
	var out []*runtimeapi.Image
	for _, img := range resp.Images {
		if MatchImage(img, want) {
			out = append(out, img)
		}
	}
	return out, nil
}

// RemoveImage implements ImageManager.
func (c *Client) RemoveImage(ctx context.Context, image *runtimeapi.ImageSpec) error {
	_, err := c.images.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: image})
	return wrap(err, "remove image", image.GetImage())
}

// ImageFsInfo implements ImageFsInfoer.
func (c *Client) ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error) {
	resp, err := c.images.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	return resp, wrap(err, "image fs info", "")
}

// sandboxName names a sandbox config as namespace/name for errors.
func sandboxName(config *runtimeapi.PodSandboxConfig) string {
	md := config.GetMetadata()
	if md == nil {
		return ""
	}
	return md.GetNamespace() + "/" + md.GetName()
}
