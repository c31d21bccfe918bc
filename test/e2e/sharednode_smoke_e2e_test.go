//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"
)

// TestSharedNodeRunsPod checks the shared node fixture itself: a pod in the
// test's namespace runs to Completed and its log is on the node.
func TestSharedNodeRunsPod(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.OK(t, "run", "once", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo done")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitKubectl(t, ctx, k, "pod once Succeeded", func(out string) bool { return out == "Succeeded" },
		"get", "pod", "once", "-o", "jsonpath={.status.phase}")
}
