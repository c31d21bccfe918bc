// Package agent is the composition root of a node agent: it starts the
// node's private containerd (package containerd), imports the image
// tarballs found in the agent's image directories, dials the CRI and runs
// the kubelet (package kubelet) against the API server. With the cluster's
// client CA it also serves the node's API on --kubelet-port (package
// kubelet/kubeletserver), through which the API server reaches the node
// for kubectl logs, exec, attach and port-forward. Beside the kubelet it
// sets up the pod network: once the server has given the Node a pod CIDR
// it enables IP forwarding and writes a CNI bridge config into
// containerd's conf dir (cni.go); TeardownNetwork undoes what the network
// leaves on the machine, for resets and tests.
//
// `skiff server` embeds one for its own node (internal/server), with a
// node certificate the server issues itself. `skiff agent` runs one alone
// (Run): Join fetches the server CA, checks it against the join token's
// pin, gets the node's client certificate through a
// CertificateSigningRequest and keeps it in <data-dir>/agent (join.go,
// docs/adr/0004-join.md); the certificate is renewed at 80% of its life.
// With ContainerRuntimeEndpoint the agent uses that CRI instead of its own
// containerd (runtime.go). While it runs it imports tarballs that appear
// in images/ (images.go, a 2 s poll). Only internal/server and
// internal/cli import this package. Start returns once containerd answers; the images are
// imported and the kubelet started in the background, and Stop ends them
// in reverse order, leaving running containers to their shims.
package agent
