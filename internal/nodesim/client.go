package nodesim

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// NewClient returns a clientset suited to simulating many nodes: no
// client-side rate limit (thousands of nodes renew a Lease every few
// seconds), protobuf on the wire, and a distinct user agent. rc is not
// modified.
func NewClient(rc *rest.Config) (kubernetes.Interface, error) {
	c := rest.CopyConfig(rc)
	c.QPS = -1 // no rate limiter
	c.Burst = 0
	c.RateLimiter = nil
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	c.UserAgent = "skiff-nodesim"
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("nodesim: client: %w", err)
	}
	return cs, nil
}
