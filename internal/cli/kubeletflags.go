package cli

import (
	"flag"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/config"
)

// resourceListFlag is a "cpu=500m,memory=1Gi" flag.
type resourceListFlag struct{ v *corev1.ResourceList }

func (f resourceListFlag) String() string {
	if f.v == nil {
		return ""
	}
	return config.FormatResourceList(*f.v)
}

func (f resourceListFlag) Set(s string) error {
	l, err := config.ParseResourceList(s)
	if err != nil {
		return err
	}
	*f.v = l
	return nil
}

// kubeletFlags registers the node agent flags `skiff server` and `skiff
// agent` share, under upstream's kubelet names.
func kubeletFlags(fs *flag.FlagSet, c *config.Kubelet) {
	fs.Var(resourceListFlag{&c.SystemReserved}, "system-reserved", "resources reserved for the system, left out of allocatable (e.g. cpu=500m,memory=1Gi,ephemeral-storage=1Gi)")
	fs.Var(resourceListFlag{&c.KubeReserved}, "kube-reserved", "resources reserved for Skiff itself, left out of allocatable (same form as --system-reserved)")
	fs.IntVar(&c.MaxPods, "max-pods", c.MaxPods, "number of pods the node can run")
	fs.DurationVar(&c.NodeStatusUpdateFrequency, "node-status-update-frequency", c.NodeStatusUpdateFrequency, "how often the node's status is computed and its Lease renewed")
	fs.IntVar(&c.Port, "kubelet-port", c.Port, "port of the node's API for logs, exec, attach and port-forward (0 picks a free one)")
}
