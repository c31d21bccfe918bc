package scheduler

import (
	"encoding/json"
	"fmt"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// DefaultSchedulerName is the profile pods get when spec.schedulerName is
// empty (the API server defaults it too).
const DefaultSchedulerName = "default-scheduler"

// DefaultBinderName is the bind plugin that posts pods/binding.
const DefaultBinderName = "DefaultBinder"

// Configuration is the subset of kubescheduler.config.k8s.io/v1
// KubeSchedulerConfiguration that Skiff reads.
type Configuration struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	// PercentageOfNodesToScore bounds how many feasible nodes a cycle
	// looks for; 0 or unset means upstream's adaptive value (50% minus 1%
	// per 125 nodes, at least 5%, and never fewer than 100 nodes).
	PercentageOfNodesToScore *int32    `json:"percentageOfNodesToScore,omitempty"`
	Profiles                 []Profile `json:"profiles,omitempty"`
	// Skiff holds Skiff's own settings. It is the one field upstream's
	// KubeSchedulerConfiguration lacks: every upstream file loads
	// unchanged, and a file that sets it is Skiff's.
	Skiff *SkiffSettings `json:"skiff,omitempty"`
}

// SkiffSettings switches Borg's three scalability techniques (each on
// unless set to false), so that their effect can be measured:
//
//	skiff:
//	  equivalenceClasses: false
//	  scoreCaching: false
//	  relaxedRandomization: false
type SkiffSettings struct {
	// EquivalenceClasses reuses a node's filter result for pods with the
	// same scheduling constraints while the node is unchanged.
	EquivalenceClasses *bool `json:"equivalenceClasses,omitempty"`
	// ScoreCaching reuses a node's raw score from node-local score
	// plugins for pods with the same constraints while the node is
	// unchanged.
	ScoreCaching *bool `json:"scoreCaching,omitempty"`
	// RelaxedRandomization stops filtering once enough feasible nodes are
	// found (percentageOfNodesToScore), starting where the last cycle
	// stopped. Off, every node is filtered and every feasible node scored
	// from the first node on, whatever percentageOfNodesToScore says.
	RelaxedRandomization *bool `json:"relaxedRandomization,omitempty"`
}

// Techniques are the resolved SkiffSettings.
type Techniques struct {
	EquivalenceClasses, ScoreCaching, RelaxedRandomization bool
}

// Techniques resolves the settings (defaults: all on).
func (c *Configuration) Techniques() Techniques {
	t := Techniques{EquivalenceClasses: true, ScoreCaching: true, RelaxedRandomization: true}
	if c == nil || c.Skiff == nil {
		return t
	}
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&t.EquivalenceClasses, c.Skiff.EquivalenceClasses)
	set(&t.ScoreCaching, c.Skiff.ScoreCaching)
	set(&t.RelaxedRandomization, c.Skiff.RelaxedRandomization)
	return t
}

// Profile is KubeSchedulerProfile.
type Profile struct {
	SchedulerName            string         `json:"schedulerName,omitempty"`
	PercentageOfNodesToScore *int32         `json:"percentageOfNodesToScore,omitempty"`
	Plugins                  *Plugins       `json:"plugins,omitempty"`
	PluginConfig             []PluginConfig `json:"pluginConfig,omitempty"`
}

// Plugins lists enabled and disabled plugins per extension point.
type Plugins struct {
	PreEnqueue PluginSet `json:"preEnqueue,omitempty"`
	QueueSort  PluginSet `json:"queueSort,omitempty"`
	PreFilter  PluginSet `json:"preFilter,omitempty"`
	Filter     PluginSet `json:"filter,omitempty"`
	PostFilter PluginSet `json:"postFilter,omitempty"`
	PreScore   PluginSet `json:"preScore,omitempty"`
	Score      PluginSet `json:"score,omitempty"`
	Reserve    PluginSet `json:"reserve,omitempty"`
	Permit     PluginSet `json:"permit,omitempty"`
	PreBind    PluginSet `json:"preBind,omitempty"`
	Bind       PluginSet `json:"bind,omitempty"`
	PostBind   PluginSet `json:"postBind,omitempty"`
	MultiPoint PluginSet `json:"multiPoint,omitempty"`
}

// PluginSet enables and disables plugins ("*" disables all defaults).
type PluginSet struct {
	Enabled  []Plugin `json:"enabled,omitempty"`
	Disabled []Plugin `json:"disabled,omitempty"`
}

// Plugin names a plugin and, for Score, its weight.
type Plugin struct {
	Name   string `json:"name"`
	Weight *int32 `json:"weight,omitempty"`
}

// PluginConfig carries one plugin's arguments.
type PluginConfig struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

func w(n int32) *int32 { return &n }

// defaultMultiPoint is upstream's default profile, in order, minus the
// plugins Skiff does not implement yet (see unimplemented).
var defaultMultiPoint = []Plugin{
	{Name: "NodeUnschedulable"},
	{Name: "NodeName"},
	{Name: "TaintToleration", Weight: w(3)},
	{Name: "NodeAffinity", Weight: w(2)},
	{Name: "NodePorts"},
	{Name: "NodeResourcesFit", Weight: w(1)},
	{Name: "VolumeBinding"},
	{Name: "PodTopologySpread", Weight: w(2)},
	{Name: "InterPodAffinity", Weight: w(2)},
	{Name: "DefaultPreemption"},
	{Name: "NodeResourcesBalancedAllocation", Weight: w(1)},
	{Name: "ImageLocality", Weight: w(1)},
	{Name: DefaultBinderName},
}

// unimplemented are upstream plugins a configuration may name that Skiff
// does not have (yet); they are ignored rather than rejected so that
// upstream configuration files load. The queue sorts by priority itself
// (PrioritySort).
var unimplemented = []string{"PrioritySort", "SchedulingGates", "VolumeRestrictions",
	"NodeVolumeLimits", "VolumeZone", "DynamicResources", "NodeDeclaredFeatures"}

// ParseConfiguration reads a KubeSchedulerConfiguration (YAML or JSON).
func ParseConfiguration(data []byte) (*Configuration, error) {
	var c Configuration
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("parse scheduler configuration: %w", err)
	}
	if c.Kind != "" && c.Kind != "KubeSchedulerConfiguration" {
		return nil, fmt.Errorf("scheduler configuration kind %q is not KubeSchedulerConfiguration", c.Kind)
	}
	if c.APIVersion != "" && c.APIVersion != "kubescheduler.config.k8s.io/v1" {
		return nil, fmt.Errorf("scheduler configuration apiVersion %q is not kubescheduler.config.k8s.io/v1", c.APIVersion)
	}
	return &c, nil
}

// Profiles resolves the configuration into framework profiles; an empty
// configuration gives upstream's default profile.
func (c *Configuration) FrameworkProfiles() ([]framework.Profile, error) {
	profiles := c.Profiles
	if len(profiles) == 0 {
		profiles = []Profile{{}}
	}
	var out []framework.Profile
	names := map[string]bool{}
	for _, p := range profiles {
		fp, err := resolveProfile(p)
		if err != nil {
			return nil, err
		}
		if names[fp.SchedulerName] {
			return nil, fmt.Errorf("scheduler profile %q is defined twice", fp.SchedulerName)
		}
		names[fp.SchedulerName] = true
		out = append(out, fp)
	}
	return out, nil
}

func refs(ps []Plugin) []framework.PluginRef {
	var out []framework.PluginRef
	for _, p := range ps {
		if slices.Contains(unimplemented, p.Name) {
			continue
		}
		r := framework.PluginRef{Name: p.Name}
		if p.Weight != nil {
			r.Weight = *p.Weight
		}
		out = append(out, r)
	}
	return out
}

func names(ps []Plugin) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func resolveProfile(p Profile) (framework.Profile, error) {
	fp := framework.Profile{SchedulerName: p.SchedulerName, PercentageOfNodesToScore: p.PercentageOfNodesToScore,
		PluginArgs: map[string][]byte{}, DisabledAt: map[string][]string{}}
	if fp.SchedulerName == "" {
		fp.SchedulerName = DefaultSchedulerName
	}
	if v := p.PercentageOfNodesToScore; v != nil && (*v < 0 || *v > 100) {
		return fp, fmt.Errorf("profile %q: percentageOfNodesToScore %d is not in 0-100", fp.SchedulerName, *v)
	}
	pl := p.Plugins
	if pl == nil {
		pl = &Plugins{}
	}
	multiDisabled := names(pl.MultiPoint.Disabled)
	for _, d := range defaultMultiPoint {
		if slices.Contains(multiDisabled, "*") || slices.Contains(multiDisabled, d.Name) {
			continue
		}
		fp.MultiPoint = append(fp.MultiPoint, refs([]Plugin{d})...)
	}
	for _, e := range refs(pl.MultiPoint.Enabled) {
		if i := slices.IndexFunc(fp.MultiPoint, func(r framework.PluginRef) bool { return r.Name == e.Name }); i >= 0 {
			fp.MultiPoint[i] = e
		} else {
			fp.MultiPoint = append(fp.MultiPoint, e)
		}
	}
	points := []struct {
		name string
		set  PluginSet
		dst  *[]framework.PluginRef
	}{
		{"PreFilter", pl.PreFilter, &fp.PreFilter}, {"Filter", pl.Filter, &fp.Filter},
		{"PostFilter", pl.PostFilter, &fp.PostFilter}, {"PreScore", pl.PreScore, &fp.PreScore},
		{"Score", pl.Score, &fp.Score}, {"Reserve", pl.Reserve, &fp.Reserve}, {"Permit", pl.Permit, &fp.Permit},
		{"PreBind", pl.PreBind, &fp.PreBind}, {"Bind", pl.Bind, &fp.Bind},
	}
	for _, pt := range points {
		*pt.dst = refs(pt.set.Enabled)
		if d := names(pt.set.Disabled); len(d) > 0 {
			fp.DisabledAt[pt.name] = d
		}
	}
	// A weight given in score.enabled wins over multiPoint's, and a
	// plugin enabled at Score keeps the multiPoint weight otherwise.
	for i, r := range fp.Score {
		if r.Weight == 0 {
			for _, m := range fp.MultiPoint {
				if m.Name == r.Name {
					fp.Score[i].Weight = m.Weight
				}
			}
		}
	}
	for _, c := range p.PluginConfig {
		if _, dup := fp.PluginArgs[c.Name]; dup {
			return fp, fmt.Errorf("profile %q: pluginConfig for %s is given twice", fp.SchedulerName, c.Name)
		}
		fp.PluginArgs[c.Name] = c.Args
	}
	return fp, nil
}
