package framework

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// PluginRef names a plugin enabled at an extension point; Weight matters
// only for Score (0 means 1).
type PluginRef struct {
	Name   string
	Weight int32
}

// Profile is a resolved scheduling profile: the plugins of each
// extension point in run order, and each plugin's arguments as JSON.
type Profile struct {
	SchedulerName                                                   string
	PreFilter, Filter, PostFilter, PreScore, Score, Reserve, Permit []PluginRef
	PreBind, Bind                                                   []PluginRef
	PluginArgs                                                      map[string][]byte
	// MultiPoint plugins are enabled at every extension point they
	// implement, except where DisabledAt names them (or "*"). A plugin
	// also listed at a point keeps that point's entry (and weight).
	MultiPoint []PluginRef
	DisabledAt map[string][]string
	// PercentageOfNodesToScore overrides the scheduler-wide value when
	// set (0 means adaptive).
	PercentageOfNodesToScore *int32
}

// Config configures a Framework.
type Config struct {
	Registry Registry
	Profile  Profile
	// Snapshot returns the snapshot of the running cycle.
	Snapshot func() NodeInfoLister
	// NamespaceLabels looks up namespace labels; nil means none.
	NamespaceLabels func(ns string) labels.Set
	// DefaultSelector implements Handle.DefaultSelector; nil means none.
	DefaultSelector func(pod *v1.Pod) labels.Selector
	// NominatedPods returns the pods nominated to a node; nil means none.
	NominatedPods func(node string) []*PodInfo
	// PDBs lists the PodDisruptionBudgets; nil means none.
	PDBs func() []*policyv1.PodDisruptionBudget
	// Preempt implements Handle.Preempt; nil refuses every preemption.
	Preempt func(ctx context.Context, preemptor *v1.Pod, node string, victims, clearNominated []*v1.Pod) error
	// Volumes implements Handle.Volumes; nil means none.
	Volumes Volumes
	// Parallelism bounds concurrent Filter and Score calls (0 means
	// GOMAXPROCS).
	Parallelism int
}

type scorePlugin struct {
	ScorePlugin
	weight    int64
	nodeLocal bool
	// bit is 1 << the plugin's position among the profile's score
	// plugins (0 past 64), for ScoreCache sets.
	bit uint64
}

// Framework runs the plugins of one profile. Its Run methods are safe for
// concurrent use by different pods.
type Framework struct {
	cfg         Config
	plugins     map[string]Plugin
	preFilter   []PreFilterPlugin
	filter      []FilterPlugin
	postFilter  []PostFilterPlugin
	preScore    []PreScorePlugin
	score       []scorePlugin
	reserve     []ReservePlugin
	permit      []PermitPlugin
	preBind     []PreBindPlugin
	bind        []BindPlugin
	parallelism int
}

// New builds every plugin the profile names once and checks each
// implements the extension points it is enabled at.
func New(cfg Config) (*Framework, error) {
	f := &Framework{cfg: cfg, plugins: map[string]Plugin{}, parallelism: cfg.Parallelism}
	if f.parallelism <= 0 {
		f.parallelism = runtime.GOMAXPROCS(0)
	}
	if f.cfg.NamespaceLabels == nil {
		f.cfg.NamespaceLabels = func(string) labels.Set { return nil }
	}
	if f.cfg.DefaultSelector == nil {
		f.cfg.DefaultSelector = func(*v1.Pod) labels.Selector { return labels.NewSelector() }
	}
	p := cfg.Profile
	get := func(name string) (Plugin, error) {
		if pl, ok := f.plugins[name]; ok {
			return pl, nil
		}
		factory, ok := cfg.Registry[name]
		if !ok {
			return nil, fmt.Errorf("profile %q: plugin %q is not registered", p.SchedulerName, name)
		}
		pl, err := factory(p.PluginArgs[name], f)
		if err != nil {
			return nil, fmt.Errorf("profile %q: build plugin %s: %w", p.SchedulerName, name, err)
		}
		f.plugins[name] = pl
		return pl, nil
	}
	type point struct {
		name string
		refs []PluginRef
		add  func(Plugin, PluginRef) bool
	}
	points := []point{
		{"PreFilter", p.PreFilter, func(pl Plugin, _ PluginRef) bool {
			x, ok := pl.(PreFilterPlugin)
			f.preFilter = appendIf(f.preFilter, x, ok)
			return ok
		}},
		{"Filter", p.Filter, func(pl Plugin, _ PluginRef) bool {
			x, ok := pl.(FilterPlugin)
			f.filter = appendIf(f.filter, x, ok)
			return ok
		}},
		{"PostFilter", p.PostFilter, func(pl Plugin, _ PluginRef) bool {
			x, ok := pl.(PostFilterPlugin)
			f.postFilter = appendIf(f.postFilter, x, ok)
			return ok
		}},
		{"PreScore", p.PreScore, func(pl Plugin, _ PluginRef) bool {
			x, ok := pl.(PreScorePlugin)
			f.preScore = appendIf(f.preScore, x, ok)
			return ok
		}},
		{"Score", p.Score, func(pl Plugin, r PluginRef) bool {
			x, ok := pl.(ScorePlugin)
			if ok {
				w := int64(r.Weight)
				if w == 0 {
					w = 1
				}
				_, local := pl.(NodeLocalScorer)
				var bit uint64
				if n := len(f.score); n < 64 {
					bit = 1 << n
				}
				f.score = append(f.score, scorePlugin{x, w, local && bit != 0, bit})
			}
			return ok
		}},
		{"Reserve", p.Reserve, func(pl Plugin, _ PluginRef) bool {
			x, ok := pl.(ReservePlugin)
			f.reserve = appendIf(f.reserve, x, ok)
			return ok
		}},
		{"Permit", p.Permit, func(pl Plugin, _ PluginRef) bool {
			x, ok := pl.(PermitPlugin)
			f.permit = appendIf(f.permit, x, ok)
			return ok
		}},
		{"PreBind", p.PreBind, func(pl Plugin, _ PluginRef) bool {
			x, ok := pl.(PreBindPlugin)
			f.preBind = appendIf(f.preBind, x, ok)
			return ok
		}},
		{"Bind", p.Bind, func(pl Plugin, _ PluginRef) bool {
			x, ok := pl.(BindPlugin)
			f.bind = appendIf(f.bind, x, ok)
			return ok
		}},
	}
	for _, r := range p.MultiPoint {
		if _, err := get(r.Name); err != nil {
			return nil, err
		}
	}
	for _, pt := range points {
		refs := f.expand(pt.name, pt.refs)
		seen := sets.New[string]()
		for _, r := range refs {
			if seen.Has(r.Name) {
				return nil, fmt.Errorf("profile %q: plugin %s enabled twice at %s", p.SchedulerName, r.Name, pt.name)
			}
			seen.Insert(r.Name)
			pl, err := get(r.Name)
			if err != nil {
				return nil, err
			}
			if !pt.add(pl, r) {
				return nil, fmt.Errorf("profile %q: plugin %s does not implement %s", p.SchedulerName, r.Name, pt.name)
			}
		}
	}
	if len(f.bind) == 0 {
		return nil, fmt.Errorf("profile %q: at least one bind plugin is needed", p.SchedulerName)
	}
	return f, nil
}

// expand orders a point's plugins as upstream does: plugins listed both
// at the point and in MultiPoint (in the point's order), then
// MultiPoint-only plugins that implement the point, then the rest of the
// point's list.
func (f *Framework) expand(point string, explicit []PluginRef) []PluginRef {
	disabled := sets.New(f.cfg.Profile.DisabledAt[point]...)
	inExplicit := map[string]bool{}
	for _, r := range explicit {
		inExplicit[r.Name] = true
	}
	inMulti := map[string]bool{}
	var multi []PluginRef
	for _, r := range f.cfg.Profile.MultiPoint {
		inMulti[r.Name] = true
		if inExplicit[r.Name] || disabled.Has(r.Name) || disabled.Has("*") || !implements(f.plugins[r.Name], point) {
			continue
		}
		multi = append(multi, r)
	}
	var out []PluginRef
	for _, r := range explicit {
		if inMulti[r.Name] {
			out = append(out, r)
		}
	}
	out = append(out, multi...)
	for _, r := range explicit {
		if !inMulti[r.Name] {
			out = append(out, r)
		}
	}
	return out
}

func implements(pl Plugin, point string) bool {
	var ok bool
	switch point {
	case "PreFilter":
		_, ok = pl.(PreFilterPlugin)
	case "Filter":
		_, ok = pl.(FilterPlugin)
	case "PostFilter":
		_, ok = pl.(PostFilterPlugin)
	case "PreScore":
		_, ok = pl.(PreScorePlugin)
	case "Score":
		_, ok = pl.(ScorePlugin)
	case "Reserve":
		_, ok = pl.(ReservePlugin)
	case "Permit":
		_, ok = pl.(PermitPlugin)
	case "PreBind":
		_, ok = pl.(PreBindPlugin)
	case "Bind":
		_, ok = pl.(BindPlugin)
	}
	return ok
}

func appendIf[T any](s []T, x T, ok bool) []T {
	if ok {
		return append(s, x)
	}
	return s
}

// ProfileName returns the scheduler name the profile serves.
func (f *Framework) ProfileName() string { return f.cfg.Profile.SchedulerName }

// Profile returns the profile.
func (f *Framework) Profile() Profile { return f.cfg.Profile }

// Plugin returns a built plugin by name.
func (f *Framework) Plugin(name string) Plugin { return f.plugins[name] }

// HasFilterPlugins reports whether any Filter plugin is enabled.
func (f *Framework) HasFilterPlugins() bool { return len(f.filter) > 0 }

// HasScorePlugins reports whether any Score plugin is enabled.
func (f *Framework) HasScorePlugins() bool { return len(f.score) > 0 }

// HasPostFilterPlugins reports whether any PostFilter plugin is enabled.
func (f *Framework) HasPostFilterPlugins() bool { return len(f.postFilter) > 0 }

// SnapshotSharedLister implements Handle.
func (f *Framework) SnapshotSharedLister() NodeInfoLister { return f.cfg.Snapshot() }

// NamespaceLabels implements Handle.
func (f *Framework) NamespaceLabels(ns string) labels.Set { return f.cfg.NamespaceLabels(ns) }

// DefaultSelector implements Handle.
func (f *Framework) DefaultSelector(pod *v1.Pod) labels.Selector { return f.cfg.DefaultSelector(pod) }

// NominatedPodsForNode implements Handle.
func (f *Framework) NominatedPodsForNode(node string) []*PodInfo {
	if f.cfg.NominatedPods == nil {
		return nil
	}
	return f.cfg.NominatedPods(node)
}

// PodDisruptionBudgets implements Handle.
func (f *Framework) PodDisruptionBudgets() []*policyv1.PodDisruptionBudget {
	if f.cfg.PDBs == nil {
		return nil
	}
	return f.cfg.PDBs()
}

// Preempt implements Handle.
func (f *Framework) Preempt(ctx context.Context, preemptor *v1.Pod, node string, victims, clearNominated []*v1.Pod) error {
	if f.cfg.Preempt == nil {
		return fmt.Errorf("preemption is not available to profile %q", f.cfg.Profile.SchedulerName)
	}
	return f.cfg.Preempt(ctx, preemptor, node, victims, clearNominated)
}

// Volumes implements Handle.
func (f *Framework) Volumes() Volumes { return f.cfg.Volumes }

// EventsToRegister returns, per plugin name, the events that may make a
// pod the plugin rejected schedulable; plugins without EnqueueExtensions
// are absent (any event).
func (f *Framework) EventsToRegister() map[string][]ClusterEvent {
	out := map[string][]ClusterEvent{}
	for name, pl := range f.plugins {
		if e, ok := pl.(EnqueueExtensions); ok {
			out[name] = e.EventsToRegister()
		}
	}
	return out
}

// RunPreFilterPlugins runs every PreFilter. It returns the intersection
// of their node-name results, a rejection (with the plugin set) or an
// error status, and the plugins that rejected the pod or narrowed the
// nodes; it records plugins that asked to be skipped in state.
func (f *Framework) RunPreFilterPlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status, sets.Set[string]) {
	var result *PreFilterResult
	skip := map[string]bool{}
	rejectors := sets.New[string]()
	for _, pl := range f.preFilter {
		r, s := pl.PreFilter(ctx, state, pod, nodes)
		if s.IsSkip() {
			skip[pl.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			s.WithPlugin(pl.Name())
			if s.IsRejected() {
				rejectors.Insert(pl.Name())
				return nil, s, rejectors
			}
			return nil, AsStatus(fmt.Errorf("running PreFilter plugin %q: %w", pl.Name(), s.AsError())).WithPlugin(pl.Name()), rejectors
		}
		if r != nil && r.NodeNames != nil {
			rejectors.Insert(pl.Name())
			if result == nil {
				result = &PreFilterResult{NodeNames: r.NodeNames.Clone()}
			} else {
				result.NodeNames = result.NodeNames.Intersection(r.NodeNames)
			}
			if result.NodeNames.Len() == 0 {
				rejectors.Insert(pl.Name())
				return nil, NewStatus(UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) ["+pl.Name()+"] simultaneously").WithPlugin(pl.Name()), rejectors
			}
		}
	}
	state.SkipFilterPlugins = skip
	state.filters, state.filtersOf = f.unskippedFilters(skip), f
	return result, nil, rejectors
}

func (f *Framework) unskippedFilters(skip map[string]bool) []FilterPlugin {
	out := make([]FilterPlugin, 0, len(f.filter))
	for _, pl := range f.filter {
		if !skip[pl.Name()] {
			out = append(out, pl)
		}
	}
	return out
}

// RunPreFilterExtensionAddPod runs the AddPod extensions.
func (f *Framework) RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, pod *v1.Pod, add *PodInfo, nodeInfo *NodeInfo) *Status {
	for _, pl := range f.preFilter {
		if state.SkipFilterPlugins[pl.Name()] || pl.PreFilterExtensions() == nil {
			continue
		}
		if s := pl.PreFilterExtensions().AddPod(ctx, state, pod, add, nodeInfo); !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running AddPod on PreFilter plugin %q: %w", pl.Name(), s.AsError()))
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod implements Handle.
func (f *Framework) RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, pod *v1.Pod, remove *PodInfo, nodeInfo *NodeInfo) *Status {
	for _, pl := range f.preFilter {
		if state.SkipFilterPlugins[pl.Name()] || pl.PreFilterExtensions() == nil {
			continue
		}
		if s := pl.PreFilterExtensions().RemovePod(ctx, state, pod, remove, nodeInfo); !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running RemovePod on PreFilter plugin %q: %w", pl.Name(), s.AsError()))
		}
	}
	return nil
}

// RunFilterPlugins runs the filters against one node in order and returns
// the first non-success status, with its plugin set.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	filters := state.filters
	if state.filtersOf != f {
		filters = f.unskippedFilters(state.SkipFilterPlugins)
	}
	for _, pl := range filters {
		if s := pl.Filter(ctx, state, pod, nodeInfo); !s.IsSuccess() {
			if !s.IsRejected() {
				s = AsStatus(fmt.Errorf("running %q filter plugin: %w", pl.Name(), s.AsError()))
			}
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunFilterPluginsWithNominatedPods implements Handle. Pods nominated to
// the node with a priority at least pod's count first, so that a
// lower-priority pod does not take the room a preemption freed; when pod
// fits with them it must also fit without them (they may never land,
// and inter-pod affinity may depend on their absence).
func (f *Framework) RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	nominated := f.NominatedPodsForNode(nodeInfo.Node().Name)
	if len(nominated) == 0 {
		return f.RunFilterPlugins(ctx, state, pod, nodeInfo)
	}
	prio := PodPriority(pod)
	var withState *CycleState
	var withInfo *NodeInfo
	for _, np := range nominated {
		if np.Pod.UID == pod.UID || PodPriority(np.Pod) < prio {
			continue
		}
		if withInfo == nil {
			withState, withInfo = state.Clone(), nodeInfo.Clone()
		}
		withInfo.AddPodInfo(np)
		if s := f.RunPreFilterExtensionAddPod(ctx, withState, pod, np, withInfo); !s.IsSuccess() {
			return s
		}
	}
	if withInfo == nil {
		return f.RunFilterPlugins(ctx, state, pod, nodeInfo)
	}
	if s := f.RunFilterPlugins(ctx, withState, pod, withInfo); !s.IsSuccess() {
		return s
	}
	return f.RunFilterPlugins(ctx, state, pod, nodeInfo)
}

// PodPriority returns spec.priority, 0 when unset.
func PodPriority(p *v1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// RunPostFilterPlugins runs the PostFilter plugins until one succeeds;
// otherwise it returns an Unschedulable status with their reasons.
func (f *Framework) RunPostFilterPlugins(ctx context.Context, state *CycleState, pod *v1.Pod, filtered NodeToStatus) (*PostFilterResult, *Status) {
	var reasons []string
	var result *PostFilterResult
	failed := ""
	for _, pl := range f.postFilter {
		r, s := pl.PostFilter(ctx, state, pod, filtered)
		switch {
		case s.IsSuccess():
			return r, s
		case s.Code() == UnschedulableAndUnresolvable:
			return r, s.WithPlugin(pl.Name())
		case !s.IsRejected():
			return nil, AsStatus(s.AsError()).WithPlugin(pl.Name())
		}
		if r != nil {
			result = r
		}
		reasons = append(reasons, s.Reasons()...)
		if failed == "" {
			failed = pl.Name()
		}
	}
	return result, NewStatus(Unschedulable, reasons...).WithPlugin(failed)
}

// RunPreScorePlugins runs every PreScore and records the skipped plugins.
func (f *Framework) RunPreScorePlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) *Status {
	skip := map[string]bool{}
	for _, pl := range f.preScore {
		s := pl.PreScore(ctx, state, pod, nodes)
		if s.IsSkip() {
			skip[pl.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running PreScore plugin %q: %w", pl.Name(), s.AsError())).WithPlugin(pl.Name())
		}
	}
	state.SkipScorePlugins = skip
	return nil
}

// NodePluginScores is a node's total weighted score. (Upstream also
// keeps each plugin's part; nothing here reads it, and keeping it cost
// an allocation per node and plugin in every cycle.)
type NodePluginScores struct {
	Name       string
	TotalScore int64
}

// rawScores pools RunScorePlugins' per-plugin score buffers.
var rawScores = sync.Pool{New: func() any { return new([]int64) }}

// RunScorePlugins scores nodes with every Score plugin, normalizes each
// plugin's scores, checks their range and applies weights.
func (f *Framework) RunScorePlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) ([]NodePluginScores, *Status) {
	var plugins []scorePlugin
	for _, pl := range f.score {
		if !state.SkipScorePlugins[pl.Name()] {
			plugins = append(plugins, pl)
		}
	}
	all := make([]NodePluginScores, len(nodes))
	for i, n := range nodes {
		all[i].Name = n.Node().Name
	}
	if len(plugins) == 0 {
		return all, nil
	}
	// raw holds plugin j's score of node i at j*len(nodes)+i.
	buf := rawScores.Get().(*[]int64)
	defer rawScores.Put(buf)
	if cap(*buf) < len(plugins)*len(nodes) {
		*buf = make([]int64, len(plugins)*len(nodes))
	}
	raw := (*buf)[:len(plugins)*len(nodes)]
	var (
		mu      sync.Mutex
		errStat *Status
	)
	cache := state.ScoreCache
	var local []int
	var set uint64
	if cache != nil {
		for j, pl := range plugins {
			if pl.nodeLocal {
				local = append(local, j)
				set |= pl.bit
			}
		}
	}
	f.Parallelize(ctx, len(nodes), func(i int) {
		cached := false
		if len(local) > 0 {
			var sc []int64
			if sc, cached = cache.Get(nodes[i], set); cached {
				for k, j := range local {
					raw[j*len(nodes)+i] = sc[k]
				}
			}
		}
		for j, pl := range plugins {
			if cached && pl.nodeLocal {
				continue
			}
			s, st := pl.Score(ctx, state, pod, nodes[i])
			if !st.IsSuccess() {
				mu.Lock()
				errStat = AsStatus(fmt.Errorf("plugin %q failed with: %w", pl.Name(), st.AsError())).WithPlugin(pl.Name())
				mu.Unlock()
				return
			}
			raw[j*len(nodes)+i] = s
		}
		if len(local) > 0 && !cached {
			sc := make([]int64, len(local))
			for k, j := range local {
				sc[k] = raw[j*len(nodes)+i]
			}
			cache.Put(nodes[i], set, sc)
		}
	})
	if errStat != nil {
		return nil, errStat
	}
	var list NodeScoreList
	for j, pl := range plugins {
		scores := raw[j*len(nodes) : (j+1)*len(nodes)]
		if ext := pl.ScoreExtensions(); ext != nil {
			if list == nil {
				list = make(NodeScoreList, len(nodes))
			}
			for i := range list {
				list[i] = NodeScore{Name: all[i].Name, Score: scores[i]}
			}
			if st := ext.NormalizeScore(ctx, state, pod, list); !st.IsSuccess() {
				return nil, AsStatus(fmt.Errorf("plugin %q failed with: %w", pl.Name(), st.AsError())).WithPlugin(pl.Name())
			}
			for i := range list {
				scores[i] = list[i].Score
			}
		}
		for i, s := range scores {
			if s < MinNodeScore || s > MaxNodeScore {
				return nil, AsStatus(fmt.Errorf("plugin %q returns an invalid score %v, it should in the range of [%v, %v] after normalizing", pl.Name(), s, MinNodeScore, MaxNodeScore))
			}
			all[i].TotalScore += s * pl.weight
		}
	}
	return all, nil
}

// RunReservePluginsReserve runs Reserve in order and stops at the first
// failure.
func (f *Framework) RunReservePluginsReserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status {
	for _, pl := range f.reserve {
		if s := pl.Reserve(ctx, state, pod, nodeName); !s.IsSuccess() {
			if s.IsRejected() {
				return s.WithPlugin(pl.Name())
			}
			return AsStatus(fmt.Errorf("running Reserve plugin %q: %w", pl.Name(), s.AsError())).WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunReservePluginsUnreserve runs Unreserve in reverse order.
func (f *Framework) RunReservePluginsUnreserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) {
	for i := len(f.reserve) - 1; i >= 0; i-- {
		f.reserve[i].Unreserve(ctx, state, pod, nodeName)
	}
}

// RunPermitPlugins runs Permit. A rejection or error wins; otherwise, if
// any plugin said Wait, it returns Wait and the longest timeout.
func (f *Framework) RunPermitPlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) (*Status, time.Duration) {
	var wait time.Duration
	waiting := false
	for _, pl := range f.permit {
		s, d := pl.Permit(ctx, state, pod, nodeName)
		switch {
		case s.IsSuccess():
		case s.IsWait():
			waiting = true
			wait = max(wait, d)
		case s.IsRejected():
			return s.WithPlugin(pl.Name()), 0
		default:
			return AsStatus(fmt.Errorf("running Permit plugin %q: %w", pl.Name(), s.AsError())).WithPlugin(pl.Name()), 0
		}
	}
	if waiting {
		return NewStatus(Wait), wait
	}
	return nil, 0
}

// RunPreBindPlugins runs PreBind in order.
func (f *Framework) RunPreBindPlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status {
	for _, pl := range f.preBind {
		if s := pl.PreBind(ctx, state, pod, nodeName); !s.IsSuccess() {
			if s.IsRejected() {
				return s.WithPlugin(pl.Name())
			}
			return AsStatus(fmt.Errorf("running PreBind plugin %q: %w", pl.Name(), s.AsError())).WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunBindPlugins runs Bind plugins until one does not Skip.
func (f *Framework) RunBindPlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status {
	for _, pl := range f.bind {
		s := pl.Bind(ctx, state, pod, nodeName)
		if s.IsSkip() {
			continue
		}
		if !s.IsSuccess() {
			if s.IsRejected() {
				return s.WithPlugin(pl.Name())
			}
			return AsStatus(fmt.Errorf("running Bind plugin %q: %w", pl.Name(), s.AsError())).WithPlugin(pl.Name())
		}
		return nil
	}
	return NewStatus(Skip)
}

// Parallelism is how many goroutines Parallelize uses at most.
func (f *Framework) Parallelism() int { return f.parallelism }

// Parallelize calls work(i) for i in [0, n) on up to the framework's
// parallelism goroutines, in chunks, and returns when all are done or
// ctx ends.
func (f *Framework) Parallelize(ctx context.Context, n int, work func(i int)) {
	Parallelize(ctx, f.parallelism, n, work)
}

// Parallelize calls work(i) for i in [0, n) on up to workers goroutines
// (the caller's among them), in chunks.
func Parallelize(ctx context.Context, workers, n int, work func(i int)) {
	if n == 0 {
		return
	}
	if workers <= 1 || n < 32 {
		for i := 0; i < n; i++ {
			if ctx.Err() != nil {
				return
			}
			work(i)
		}
		return
	}
	ParallelizeChunks(ctx, workers, n, max(1, n/(workers*4)), func(lo, hi int) bool {
		for i := lo; i < hi; i++ {
			work(i)
		}
		return true
	})
}

// ParallelizeChunks calls work(lo, hi) on the consecutive chunks of
// [0, n) of size chunk, handed out in order to up to workers goroutines
// (the caller's among them). Once work returns false or ctx ends no
// further chunk is started, but the chunks under way complete; so the
// chunks done always make a prefix of [0, n), whose end it returns.
func ParallelizeChunks(ctx context.Context, workers, n, chunk int, work func(lo, hi int) bool) int {
	chunk = max(1, chunk)
	var (
		next atomic.Int64
		stop atomic.Bool
	)
	run := func() {
		for !stop.Load() && ctx.Err() == nil {
			hi := int(next.Add(int64(chunk)))
			lo := hi - chunk
			if lo >= n {
				return
			}
			if !work(lo, min(hi, n)) {
				stop.Store(true)
			}
		}
	}
	workers = min(workers, (n+chunk-1)/chunk)
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
	return min(n, int(next.Load()))
}
