// Package prober runs the liveness, readiness and startup probes of the
// containers a node agent runs, as upstream's kubelet does.
//
//	kubelet sync ──ContainerStatus(state)──▶ Manager ──▶ worker per (container, probe kind)
//	     ▲                                      │            │ every periodSeconds:
//	     └────── OnChange(pod key) ◀── results ◀┘            └─ Runner.Run: exec | httpGet | tcpSocket | grpc
//
// A worker probes its container while it runs, after initialDelaySeconds,
// and turns single outcomes into a result once failureThreshold (or
// successThreshold) consecutive outcomes agree. Liveness and readiness
// probes wait for the startup probe to succeed; the startup probe stops
// once it has. Readiness starts as failed, liveness as succeeded. A
// liveness or startup failure is held until the container is replaced:
// the kubelet asks Failed at each sync and kills the container. Every
// failed probe records an Unhealthy event with upstream's message.
//
// Only internal/kubelet uses this package. A Manager is safe for
// concurrent use; its workers end when Stop is called or the context given
// to AddPod ends.
package prober
