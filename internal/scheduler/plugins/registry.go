// Package plugins holds Skiff's scheduling plugins, one per package, and
// the registry that maps each plugin's name to its factory.
package plugins

import (
	"github.com/skiff/skiff/internal/scheduler/framework"
	"github.com/skiff/skiff/internal/scheduler/plugins/defaultpreemption"
	"github.com/skiff/skiff/internal/scheduler/plugins/imagelocality"
	"github.com/skiff/skiff/internal/scheduler/plugins/interpodaffinity"
	"github.com/skiff/skiff/internal/scheduler/plugins/nodeaffinity"
	"github.com/skiff/skiff/internal/scheduler/plugins/nodename"
	"github.com/skiff/skiff/internal/scheduler/plugins/nodeports"
	"github.com/skiff/skiff/internal/scheduler/plugins/noderesources"
	"github.com/skiff/skiff/internal/scheduler/plugins/nodeunschedulable"
	"github.com/skiff/skiff/internal/scheduler/plugins/podtopologyspread"
	"github.com/skiff/skiff/internal/scheduler/plugins/tainttoleration"
	"github.com/skiff/skiff/internal/scheduler/plugins/volumebinding"
)

// NewRegistry returns the in-tree plugins by name. Binding (DefaultBinder)
// does I/O and is registered by internal/scheduler.
func NewRegistry() framework.Registry {
	return framework.Registry{
		nodename.Name:                        nodename.New,
		nodeunschedulable.Name:               nodeunschedulable.New,
		nodeports.Name:                       nodeports.New,
		nodeaffinity.Name:                    nodeaffinity.New,
		tainttoleration.Name:                 tainttoleration.New,
		noderesources.FitName:                noderesources.NewFit,
		noderesources.BalancedAllocationName: noderesources.NewBalancedAllocation,
		interpodaffinity.Name:                interpodaffinity.New,
		podtopologyspread.Name:               podtopologyspread.New,
		imagelocality.Name:                   imagelocality.New,
		defaultpreemption.Name:               defaultpreemption.New,
		volumebinding.Name:                   volumebinding.New,
	}
}
