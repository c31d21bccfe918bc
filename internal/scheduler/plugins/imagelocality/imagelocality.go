// Package imagelocality implements ImageLocality: nodes that already
// hold a pod's images score higher, weighted by image size and by how
// widely the image is spread (to avoid piling pods on one node).
package imagelocality

import (
	"context"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "ImageLocality"

// Thresholds of the score: below minThreshold an image is not worth it;
// maxContainerThreshold per container caps the sum.
const (
	mb                    int64 = 1024 * 1024
	minThreshold                = 23 * mb
	maxContainerThreshold       = 1000 * mb
)

// Plugin is the ImageLocality plugin.
type Plugin struct{ h framework.Handle }

// New builds the plugin.
func New(_ []byte, h framework.Handle) (framework.Plugin, error) { return &Plugin{h: h}, nil }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// Score implements framework.ScorePlugin.
func (p *Plugin) Score(_ context.Context, _ *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	total := len(p.h.SnapshotSharedLister().List())
	return Calculate(pod, ni, total), nil
}

// Calculate returns the score of ni for pod among total nodes.
func Calculate(pod *v1.Pod, ni *framework.NodeInfo, total int) int64 {
	var sum int64
	n := len(pod.Spec.InitContainers) + len(pod.Spec.Containers)
	// A node without images (or a cluster without nodes) adds nothing:
	// no need to normalize each image name for every node.
	if len(ni.ImageStates) > 0 && total > 0 {
		for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range cs {
				if st, ok := ni.ImageStates[framework.NormalizedImageName(cs[i].Image)]; ok {
					sum += int64(float64(st.Size) * float64(st.NumNodes) / float64(total))
				}
			}
		}
	}
	maxThreshold := maxContainerThreshold * int64(n)
	if sum < minThreshold {
		sum = minThreshold
	} else if sum > maxThreshold {
		sum = maxThreshold
	}
	if maxThreshold == minThreshold {
		return 0
	}
	return framework.MaxNodeScore * (sum - minThreshold) / (maxThreshold - minThreshold)
}

// ScoreExtensions implements framework.ScorePlugin.
func (*Plugin) ScoreExtensions() framework.ScoreExtensions { return nil }
