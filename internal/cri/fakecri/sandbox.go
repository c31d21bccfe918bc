package fakecri

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
)

type sandbox struct {
	id        string
	config    *runtimeapi.PodSandboxConfig
	handler   string
	state     runtimeapi.PodSandboxState
	createdAt int64
	ip        string // "" for host-network sandboxes
}

func (s *sandbox) proto() *runtimeapi.PodSandbox {
	return &runtimeapi.PodSandbox{
		Id:             s.id,
		Metadata:       proto.Clone(s.config.Metadata).(*runtimeapi.PodSandboxMetadata),
		State:          s.state,
		CreatedAt:      s.createdAt,
		Labels:         copyMap(s.config.Labels),
		Annotations:    copyMap(s.config.Annotations),
		RuntimeHandler: s.handler,
	}
}

// RunPodSandbox implements cri.SandboxManager. A second sandbox with the
// same metadata is an error wrapping cri.ErrAlreadyExists.
func (r *Runtime) RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("RunPodSandbox"); err != nil {
		return "", err
	}
	md := config.GetMetadata()
	if md == nil || md.Name == "" || md.Uid == "" || md.Namespace == "" {
		return "", fmt.Errorf("run pod sandbox: metadata name, namespace and uid are required")
	}
	if config.GetHostname() != "" && config.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE {
		// runc refuses this (no private UTS namespace); the kubelet sets
		// no hostname for host-network pods.
		return "", fmt.Errorf("run pod sandbox %s/%s: unable to set hostname without a private UTS namespace", md.Namespace, md.Name)
	}
	for _, s := range r.sandboxes {
		if proto.Equal(s.config.Metadata, md) {
			return "", fmt.Errorf("run pod sandbox %s/%s: %w: name reserved for %s", md.Namespace, md.Name, cri.ErrAlreadyExists, s.id)
		}
	}
	s := &sandbox{
		id:        newID(),
		config:    proto.Clone(config).(*runtimeapi.PodSandboxConfig),
		handler:   runtimeHandler,
		state:     runtimeapi.PodSandboxState_SANDBOX_READY,
		createdAt: r.now(),
	}
	if config.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() != runtimeapi.NamespaceMode_NODE {
		// A pretend CNI: each pod-network sandbox gets the next address
		// of 10.88.0.0/16 (containerd's example network).
		r.ipSeq++
		s.ip = fmt.Sprintf("10.88.%d.%d", r.ipSeq/250, r.ipSeq%250+2)
	}
	r.sandboxes[s.id] = s
	return s.id, nil
}

// sandbox returns the sandbox with id or a unique prefix of it, as
// containerd accepts. r.mu must be held.
func (r *Runtime) sandbox(op, id string) (*sandbox, error) {
	if s, ok := r.sandboxes[id]; ok {
		return s, nil
	}
	var found *sandbox
	if id != "" {
		for sid, s := range r.sandboxes {
			if strings.HasPrefix(sid, id) {
				if found != nil {
					return nil, fmt.Errorf("%s %s: ambiguous id", op, id)
				}
				found = s
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%s %s: %w", op, id, cri.ErrNotFound)
	}
	return found, nil
}

// StopPodSandbox implements cri.SandboxManager: it kills the sandbox's
// running containers (exit code 137) and marks it not ready.
func (r *Runtime) StopPodSandbox(ctx context.Context, podSandboxID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("StopPodSandbox"); err != nil {
		return err
	}
	s, err := r.sandbox("stop pod sandbox", podSandboxID)
	if err != nil {
		return err
	}
	for _, c := range r.containers {
		if c.sandboxID == s.id {
			r.exit(c, 137, "Error")
		}
	}
	s.state = runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	return nil
}

// RemovePodSandbox implements cri.SandboxManager.
func (r *Runtime) RemovePodSandbox(ctx context.Context, podSandboxID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("RemovePodSandbox"); err != nil {
		return err
	}
	s, err := r.sandbox("remove pod sandbox", podSandboxID)
	if err != nil {
		return nil // already gone
	}
	for id, c := range r.containers {
		if c.sandboxID == s.id {
			delete(r.containers, id)
		}
	}
	delete(r.sandboxes, s.id)
	return nil
}

// PodSandboxStatus implements cri.SandboxManager. Sandboxes with their
// own network namespace have an address of 10.88.0.0/16; host-network
// ones none.
func (r *Runtime) PodSandboxStatus(ctx context.Context, podSandboxID string, verbose bool) (*runtimeapi.PodSandboxStatusResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("PodSandboxStatus"); err != nil {
		return nil, err
	}
	s, err := r.sandbox("pod sandbox status", podSandboxID)
	if err != nil {
		return nil, err
	}
	p := s.proto()
	st := &runtimeapi.PodSandboxStatus{
		Id:             p.Id,
		Metadata:       p.Metadata,
		State:          p.State,
		CreatedAt:      p.CreatedAt,
		Network:        &runtimeapi.PodSandboxNetworkStatus{Ip: s.ip},
		Labels:         p.Labels,
		Annotations:    p.Annotations,
		RuntimeHandler: p.RuntimeHandler,
	}
	if opts := s.config.GetLinux().GetSecurityContext().GetNamespaceOptions(); opts != nil {
		st.Linux = &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: proto.Clone(opts).(*runtimeapi.NamespaceOption)}}
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: st}, nil
}

// ListPodSandbox implements cri.SandboxManager.
func (r *Runtime) ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.call("ListPodSandbox"); err != nil {
		return nil, err
	}
	var out []*runtimeapi.PodSandbox
	for _, s := range r.sandboxes {
		if filter != nil {
			if filter.Id != "" && !strings.HasPrefix(s.id, filter.Id) {
				continue
			}
			if filter.State != nil && filter.State.State != s.state {
				continue
			}
			if !matchLabels(filter.LabelSelector, s.config.Labels) {
				continue
			}
		}
		out = append(out, s.proto())
	}
	return out, nil
}
