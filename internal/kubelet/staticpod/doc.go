// Package staticpod reads a node's static pods: the pod manifests of a
// local directory (<data-dir>/agent/pod-manifests: *.yaml, *.yml and
// *.json), which the agent runs without the API server, as upstream's
// kubelet does with its --pod-manifest-path.
//
// Each manifest becomes a pod named <name>-<node> on the node, in
// namespace "default" unless it says otherwise, whose UID is a hash of the
// node, the file and its content (so an edit makes a new pod), with the
// kubernetes.io/config.{hash,source,seen} annotations of upstream. Mirror
// builds the pod's mirror for the API.
//
// Everything here but Load's reading of the directory is pure; it is safe
// for concurrent use. Only internal/kubelet imports it.
package staticpod
