package kubeletserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
	"github.com/skiff/skiff/internal/pki"
)

// The labels the kubelet puts on sandboxes and containers (upstream's).
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
)

// httpError is an error with the status code to answer it with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// writeError answers err as plain text, as upstream's kubelet does.
func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		http.Error(w, he.msg, he.code)
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

// sandbox returns the newest sandbox of the pod (of that uid, when not
// empty), preferring a ready one.
func (s *Server) sandbox(ctx context.Context, ns, name, uid string) (*runtimeapi.PodSandbox, error) {
	sel := map[string]string{labelPodNamespace: ns, labelPodName: name}
	if uid != "" {
		sel[labelPodUID] = uid
	}
	list, err := s.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list sandboxes of pod %s/%s: %w", ns, name, err)
	}
	if len(list) == 0 {
		return nil, errorf(http.StatusNotFound, "pod does not exist")
	}
	slices.SortFunc(list, func(a, b *runtimeapi.PodSandbox) int {
		ra, rb := a.State == runtimeapi.PodSandboxState_SANDBOX_READY, b.State == runtimeapi.PodSandboxState_SANDBOX_READY
		if ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return compare(b.CreatedAt, a.CreatedAt)
	})
	return list[0], nil
}

// containers returns the statuses of the named container of the pod's
// newest sandbox, newest attempt first.
func (s *Server) containers(ctx context.Context, ns, pod, uid, container string) ([]*runtimeapi.ContainerStatus, error) {
	sb, err := s.sandbox(ctx, ns, pod, uid)
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{
		PodSandboxId:  sb.Id,
		LabelSelector: map[string]string{labelContainerName: container},
	})
	if err != nil {
		return nil, fmt.Errorf("list containers of pod %s/%s: %w", ns, pod, err)
	}
	var out []*runtimeapi.ContainerStatus
	for _, c := range list {
		st, err := s.cfg.Runtime.ContainerStatus(ctx, c.Id, false)
		if cri.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("status of container %s: %w", c.Id, err)
		}
		out = append(out, st.Status)
	}
	slices.SortFunc(out, func(a, b *runtimeapi.ContainerStatus) int {
		if c := compare(int64(b.GetMetadata().GetAttempt()), int64(a.GetMetadata().GetAttempt())); c != 0 {
			return c
		}
		return compare(b.CreatedAt, a.CreatedAt)
	})
	return out, nil
}

// runningContainer returns the ID of the container's running instance.
func (s *Server) runningContainer(ctx context.Context, ns, pod, uid, container string) (string, error) {
	list, err := s.containers(ctx, ns, pod, uid, container)
	if err != nil {
		return "", err
	}
	for _, c := range list {
		if c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			return c.Id, nil
		}
	}
	return "", errorf(http.StatusNotFound, "container not found (%q)", container)
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func selfSigned(hosts []string) (tls.Certificate, error) {
	cn := "skiff-kubelet"
	if len(hosts) > 0 {
		cn = hosts[0]
	}
	return pki.SelfSignedServing(cn, hosts, time.Now())
}
