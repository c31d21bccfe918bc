package apiserver

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podFor returns the pod a pods/<subresource> request names.
func (rs *resource) podFor(r *http.Request, ri requestInfo) (*corev1.Pod, error) {
	obj, err := rs.getStored(r, ri.Namespace, ri.Name, "")
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("pod %s: unexpected type %T", ri.Name, obj))
	}
	return pod, nil
}

// podContainer returns the container a request asks for: container when
// set (it must be one of the pod's), else the pod's only container.
func podContainer(pod *corev1.Pod, container string) (string, error) {
	var names, inits, ephemerals []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		ephemerals = append(ephemerals, c.Name)
	}
	if container == "" {
		if len(names) == 1 {
			return names[0], nil
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names)
		if len(inits) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: %v", inits)
		}
		if len(ephemerals) > 0 {
			msg += fmt.Sprintf(" or one of the ephemeral containers: %v", ephemerals)
		}
		return "", apierrors.NewBadRequest(msg)
	}
	for _, l := range [][]string{names, inits, ephemerals} {
		for _, n := range l {
			if n == container {
				return container, nil
			}
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
}

// checkLogStatus rejects a log request for a container that has no log
// to show yet, judging by the pod's status as upstream's kubelet does.
func checkLogStatus(pod *corev1.Pod, container string, previous bool) error {
	var st *corev1.ContainerStatus
	for _, l := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range l {
			if l[i].Name == container {
				st = &l[i]
			}
		}
	}
	bad := func(format string, args ...any) error {
		return apierrors.NewBadRequest(fmt.Sprintf(format, args...))
	}
	if st == nil {
		if pod.Status.Phase == corev1.PodPending || pod.Status.Phase == "" {
			// The agent has not reported the container yet.
			return bad("container %q in pod %q is waiting to start: ContainerCreating", container, pod.Name)
		}
		return bad("container %q in pod %q is not available", container, pod.Name)
	}
	last := st.LastTerminationState.Terminated
	switch s := st.State; {
	case previous:
		if last == nil || last.ContainerID == "" {
			return bad("previous terminated container %q in pod %q not found", container, pod.Name)
		}
	case s.Running != nil:
	case s.Terminated != nil:
		if s.Terminated.ContainerID == "" && (last == nil || last.ContainerID == "") {
			return bad("container %q in pod %q is terminated", container, pod.Name)
		}
	case last != nil:
		if last.ContainerID == "" {
			return bad("container %q in pod %q is terminated", container, pod.Name)
		}
	case s.Waiting != nil:
		switch s.Waiting.Reason {
		case "ErrImagePull":
			return bad("container %q in pod %q is waiting to start: image can't be pulled", container, pod.Name)
		case "ImagePullBackOff":
			return bad("container %q in pod %q is waiting to start: trying and failing to pull image", container, pod.Name)
		}
		return bad("container %q in pod %q is waiting to start: %s", container, pod.Name, s.Waiting.Reason)
	default:
		return bad("container %q in pod %q is waiting to start - no logs yet", container, pod.Name)
	}
	return nil
}

// logQuery validates a pods/log query (upstream's PodLogOptions) and
// returns the query to send to the node agent.
func logQuery(q url.Values, pod string) (url.Values, error) {
	out := url.Values{}
	var errs field.ErrorList
	for _, name := range []string{"follow", "previous", "timestamps"} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for %s: %v", v, name, err))
			}
			out.Set(name, strconv.FormatBool(b))
		}
	}
	ints := []struct {
		name string
		min  int64
		msg  string
	}{
		{"tailLines", 0, "must be greater than or equal to 0"},
		{"sinceSeconds", 1, "must be greater than 0"},
		{"limitBytes", 1, "must be greater than 0"},
	}
	for _, p := range ints {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for %s: %v", v, p.name, err))
		}
		if n < p.min {
			errs = append(errs, field.Invalid(field.NewPath(p.name), n, p.msg))
		}
		out.Set(p.name, strconv.FormatInt(n, 10))
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid value %q for sinceTime: %v", v, err))
		}
		if q.Get("sinceSeconds") != "" {
			errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
		}
		out.Set("sinceTime", t.UTC().Format(time.RFC3339))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Kind: "PodLogOptions"}, pod, errs)
	}
	return out, nil
}

// servePodLog streams a container's log from the pod's node agent.
func (rs *resource) servePodLog(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	if ri.Verb != "get" {
		rs.s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/log"}, ri.Verb))
		return
	}
	q := r.URL.Query()
	fwd, err := logQuery(q, ri.Name)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	pod, err := rs.podFor(r, ri)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	container, err := podContainer(pod, q.Get("container"))
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if pod.Spec.NodeName == "" {
		rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	previous, _ := strconv.ParseBool(fwd.Get("previous")) // validated by logQuery
	if err := checkLogStatus(pod, container, previous); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	base, err := rs.s.kubeletURL(r, pod.Spec.NodeName)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	u := base.JoinPath("containerLogs", pod.Namespace, pod.Name, container)
	u.RawQuery = fwd.Encode()
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		rs.s.writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	resp, err := rs.s.kubelet.transport.RoundTrip(req)
	if err != nil {
		rs.s.writeError(w, r, unreachable(http.MethodGet, u, err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		rs.s.writeError(w, r, kubeletError(resp, podsGR, pod.Name))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	copyFlushing(w, resp.Body)
}

// copyFlushing copies src to w, flushing after every read so that a
// followed log reaches the client line by line.
func copyFlushing(w http.ResponseWriter, src io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client went away
			}
			_ = rc.Flush() // a writer that cannot flush delivers at the end
		}
		if err != nil {
			return // EOF, or the agent went away: the client sees the end
		}
	}
}
