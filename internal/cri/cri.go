package cri

import (
	"context"
	"errors"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Sentinel errors. Implementations wrap them with the object's identity.
var (
	// ErrNotFound means the sandbox, container or image does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a sandbox or container of that name exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrUnimplemented means the runtime does not implement the call.
	ErrUnimplemented = errors.New("not implemented by the runtime")
)

// Versioner reports the runtime's name and versions.
type Versioner interface {
	// Version returns the runtime name, its version and the CRI version it
	// speaks ("v1").
	Version(ctx context.Context) (*runtimeapi.VersionResponse, error)
}

// StatusReporter reports whether the runtime and its network are ready.
type StatusReporter interface {
	// Status returns the RuntimeReady and NetworkReady conditions; verbose
	// adds runtime-specific information in Info.
	Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error)
}

// SandboxManager runs pod sandboxes: the namespaces, cgroup and pause
// process a pod's containers share.
type SandboxManager interface {
	// RunPodSandbox creates and starts a sandbox and returns its ID.
	// runtimeHandler selects a runtime class ("" for the default).
	RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error)
	// StopPodSandbox stops the sandbox and every container in it, and
	// releases its network. Stopping a stopped sandbox is not an error.
	StopPodSandbox(ctx context.Context, podSandboxID string) error
	// RemovePodSandbox removes a sandbox and its containers (stopping them
	// first); removing a missing sandbox is not an error.
	RemovePodSandbox(ctx context.Context, podSandboxID string) error
	// PodSandboxStatus returns the sandbox's status; an error wrapping
	// ErrNotFound when it does not exist.
	PodSandboxStatus(ctx context.Context, podSandboxID string, verbose bool) (*runtimeapi.PodSandboxStatusResponse, error)
	// ListPodSandbox returns the sandboxes matching filter (nil: all).
	ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error)
}

// ContainerManager creates, runs and inspects containers in sandboxes.
type ContainerManager interface {
	// CreateContainer creates a container in the sandbox and returns its
	// ID. sandboxConfig is the config the sandbox was run with.
	CreateContainer(ctx context.Context, podSandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error)
	// StartContainer starts a created container.
	StartContainer(ctx context.Context, containerID string) error
	// StopContainer sends the stop signal, waits up to timeout (rounded
	// down to seconds; 0 kills at once) and then kills the container.
	// Stopping an exited container is not an error.
	StopContainer(ctx context.Context, containerID string, timeout time.Duration) error
	// RemoveContainer removes a container, killing it if it runs;
	// removing a missing container is not an error.
	RemoveContainer(ctx context.Context, containerID string) error
	// ListContainers returns the containers matching filter (nil: all).
	ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error)
	// ContainerStatus returns the container's status; an error wrapping
	// ErrNotFound when it does not exist.
	ContainerStatus(ctx context.Context, containerID string, verbose bool) (*runtimeapi.ContainerStatusResponse, error)
	Execer
}

// ExecResult is the outcome of a command run to completion in a container.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int32
}

// Execer runs commands in running containers and waits for them.
type Execer interface {
	// ExecSync runs cmd in the container and returns its output and exit
	// code once it exits or timeout (0: no timeout) passes. A non-zero exit
	// code is a result, not an error.
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (ExecResult, error)
}

// Streamer returns URLs of the runtime's streaming server, where the node
// agent proxies interactive exec, attach and port-forward sessions.
type Streamer interface {
	Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error)
	Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error)
	PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error)
}

// RuntimeService is the whole runtime side of the CRI that Skiff uses.
type RuntimeService interface {
	Versioner
	StatusReporter
	SandboxManager
	ContainerManager
	Streamer
}

// ImageManager lists, pulls and removes images.
type ImageManager interface {
	// PullImage pulls an image (with auth, which may be nil) and returns
	// its reference (an image ID or digest reference).
	PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error)
	// ImageStatus returns the image, or a nil Image (and no error) when it
	// is not present, as the CRI specifies.
	ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.ImageStatusResponse, error)
	// ListImages returns the images matching filter (nil: all).
	ListImages(ctx context.Context, filter *runtimeapi.ImageFilter) ([]*runtimeapi.Image, error)
	// RemoveImage removes an image; removing a missing image is not an
	// error.
	RemoveImage(ctx context.Context, image *runtimeapi.ImageSpec) error
}

// ImageFsInfoer reports the usage of the filesystems images live on.
type ImageFsInfoer interface {
	ImageFsInfo(ctx context.Context) (*runtimeapi.ImageFsInfoResponse, error)
}

// ImageService is the whole image side of the CRI that Skiff uses.
type ImageService interface {
	ImageManager
	ImageFsInfoer
}
