// Package kubeletserver is the node agent's own HTTPS API, the one
// upstream's kubelet serves on port 10250, through which the API server
// reaches a node for kubectl logs, exec, attach, port-forward and
// nodes/proxy:
//
//	GET      /containerLogs/{namespace}/{pod}/{container}   CRI log file → text
//	GET|POST /exec/{namespace}/{pod}[/{uid}]/{container}    CRI Exec ┐
//	GET|POST /attach/{namespace}/{pod}[/{uid}]/{container}  CRI Attach ├─▶ upgrade proxied to the
//	GET|POST /portForward/{namespace}/{pod}[/{uid}]         CRI PortForward ┘ runtime's stream server
//	GET      /healthz
//
// Pods and containers are found in the runtime by the labels the
// kubelet puts on them (io.kubernetes.pod.namespace, .name, .uid and
// io.kubernetes.container.name), so the server needs no API access.
//
// Callers authenticate with a client certificate signed by the cluster's
// client CA; only system:masters (the API server's
// kube-apiserver-kubelet-client identity) is authorized, since there is
// no SubjectAccessReview delegation yet. The serving certificate is
// self-signed unless the caller provides one; the API server does not
// verify it, as upstream's does not without --kubelet-certificate-authority.
//
// Only internal/agent constructs a Server; it is safe for concurrent use.
package kubeletserver
