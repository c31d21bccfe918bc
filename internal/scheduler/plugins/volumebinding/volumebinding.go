// Package volumebinding is the VolumeBinding scheduling plugin: it makes
// sure the PersistentVolumeClaims of a pod can be served on the node the
// pod goes to, and binds the claims of WaitForFirstConsumer classes for
// that node before the pod is bound.
//
//	PreFilter  every claim exists and is not being deleted; unbound
//	           claims of Immediate classes make the pod wait (the
//	           PersistentVolume controller binds them first).
//	Filter     bound claims: their volume's node affinity admits the node;
//	           unbound (WaitForFirstConsumer) claims: an Available volume
//	           matches for the node (class, capacity, access modes,
//	           volumeMode, selector, node affinity), or the class has a
//	           provisioner whose allowedTopologies admit the node.
//	Reserve    the chosen volumes are assumed, so that the next pods do
//	           not pick them while this pod binds.
//	PreBind    the framework's VolumeBinder pre-binds the chosen volumes
//	           (claimRef), marks the claims to provision with
//	           volume.kubernetes.io/selected-node, and waits until the
//	           PersistentVolume controller has bound them all.
//
// It imports only scheduler/framework; storage objects and the API
// writes come through framework.Handle.Volumes.
package volumebinding

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Name is the plugin's registered name.
const Name = "VolumeBinding"

// Reasons a node is rejected, as upstream words them.
const (
	ErrReasonBindConflict = "node(s) didn't find available persistent volumes to bind"
	ErrReasonNodeConflict = "node(s) had volume node affinity conflict"
	ErrReasonPVNotExist   = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	// ErrUnboundImmediate rejects a pod in PreFilter.
	ErrUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
)

// noProvisioner is the provisioner name of classes that never provision.
const noProvisioner = "kubernetes.io/no-provisioner"

const stateKey framework.StateKey = Name

// DefaultBindTimeout is how long PreBind waits for the claims to be
// bound (upstream's bindTimeoutSeconds default).
const DefaultBindTimeout = 600 * time.Second

// Args are the plugin's arguments (VolumeBindingArgs).
type Args struct {
	BindTimeoutSeconds *int64 `json:"bindTimeoutSeconds,omitempty"`
}

// Plugin is the VolumeBinding plugin. It is safe for concurrent use.
type Plugin struct {
	volumes framework.Volumes
	timeout time.Duration

	mu sync.Mutex
	// assumed maps volumes chosen for a claim (by a pod between Reserve
	// and the end of PreBind) to that claim's key.
	assumed map[string]string
}

// New builds the plugin; h may be nil (no volumes: pods with claims
// cannot be scheduled).
func New(args []byte, h framework.Handle) (framework.Plugin, error) {
	var a Args
	if len(args) > 0 {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, fmt.Errorf("VolumeBinding args: %w", err)
		}
	}
	p := &Plugin{timeout: DefaultBindTimeout, assumed: map[string]string{}}
	if a.BindTimeoutSeconds != nil {
		if *a.BindTimeoutSeconds < 0 {
			return nil, fmt.Errorf("VolumeBinding args: bindTimeoutSeconds %d is negative", *a.BindTimeoutSeconds)
		}
		p.timeout = time.Duration(*a.BindTimeoutSeconds) * time.Second
	}
	if h != nil {
		p.volumes = h.Volumes()
	}
	return p, nil
}

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*Plugin) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.KindPVC, ActionType: framework.Add | framework.Update},
		{Resource: framework.KindPV, ActionType: framework.Add | framework.Update},
		{Resource: framework.KindStorageClass, ActionType: framework.Add | framework.Update},
		{Resource: framework.KindNode, ActionType: framework.Add | framework.Update},
	}
}

// boundClaim is a bound claim and its volume (nil when it does not exist).
type boundClaim struct {
	claim  *v1.PersistentVolumeClaim
	volume *v1.PersistentVolume
}

// unboundClaim is a WaitForFirstConsumer claim to bind on the chosen
// node, with its class and the volumes that could serve it anywhere,
// smallest first.
type unboundClaim struct {
	claim      *v1.PersistentVolumeClaim
	class      *storagev1.StorageClass
	candidates []*v1.PersistentVolume
}

// state is what PreFilter found and what Filter decided per node.
type state struct {
	bound   []boundClaim
	unbound []unboundClaim
	all     []*v1.PersistentVolumeClaim

	mu     sync.Mutex
	byNode map[string]framework.VolumeBindings
}

// Clone implements framework.StateData: the decisions are shared, as
// hypothetical pod additions do not change them.
func (s *state) Clone() framework.StateData { return s }

func claimKey(c *v1.PersistentVolumeClaim) string { return c.Namespace + "/" + c.Name }

// claimNames lists the claims a pod uses: persistentVolumeClaim volumes
// and generic ephemeral volumes (<pod>-<volume>).
func claimNames(pod *v1.Pod) []string {
	var out []string
	for _, vol := range pod.Spec.Volumes {
		switch {
		case vol.PersistentVolumeClaim != nil:
			out = append(out, vol.PersistentVolumeClaim.ClaimName)
		case vol.Ephemeral != nil:
			out = append(out, pod.Name+"-"+vol.Name)
		}
	}
	return out
}

// PreFilter implements framework.PreFilterPlugin.
func (p *Plugin) PreFilter(_ context.Context, cs *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) (*framework.PreFilterResult, *framework.Status) {
	names := claimNames(pod)
	if len(names) == 0 {
		return nil, framework.NewStatus(framework.Skip)
	}
	if p.volumes == nil {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, "volume binding is not available to this scheduler")
	}
	s := &state{byNode: map[string]framework.VolumeBindings{}}
	var immediate bool
	var volumes []*v1.PersistentVolume
	for _, name := range names {
		claim, err := p.volumes.PersistentVolumeClaim(pod.Namespace, name)
		if err != nil {
			return nil, framework.AsStatus(err)
		}
		if claim == nil {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", name))
		}
		if claim.DeletionTimestamp != nil {
			return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", name))
		}
		s.all = append(s.all, claim)
		if claim.Spec.VolumeName != "" {
			pv, err := p.volumes.PersistentVolume(claim.Spec.VolumeName)
			if err != nil {
				return nil, framework.AsStatus(err)
			}
			s.bound = append(s.bound, boundClaim{claim: claim, volume: pv})
			continue
		}
		class, err := p.claimClass(claim)
		if err != nil {
			return nil, framework.AsStatus(err)
		}
		if class == nil || class.VolumeBindingMode == nil || *class.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
			immediate = true
			continue
		}
		if volumes == nil {
			if volumes, err = p.volumes.PersistentVolumes(); err != nil {
				return nil, framework.AsStatus(err)
			}
		}
		s.unbound = append(s.unbound, unboundClaim{claim: claim, class: class, candidates: candidates(claim, volumes)})
	}
	if immediate {
		return nil, framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrUnboundImmediate)
	}
	cs.Write(stateKey, s)
	return nil, nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*Plugin) PreFilterExtensions() framework.PreFilterExtensions { return nil }

func (p *Plugin) claimClass(c *v1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	name := ClaimClass(c)
	if name == "" {
		return nil, nil
	}
	return p.volumes.StorageClass(name)
}

// ClaimClass returns the class a claim asks for: the legacy annotation
// wins over spec.storageClassName ("" for none).
func ClaimClass(c *v1.PersistentVolumeClaim) string {
	if v, ok := c.Annotations[v1.BetaStorageClassAnnotation]; ok {
		return v
	}
	if c.Spec.StorageClassName != nil {
		return *c.Spec.StorageClassName
	}
	return ""
}

func volumeClass(v *v1.PersistentVolume) string {
	if c, ok := v.Annotations[v1.BetaStorageClassAnnotation]; ok {
		return c
	}
	return v.Spec.StorageClassName
}

// candidates returns the volumes that may serve claim on some node:
// pre-bound to it first, then unclaimed Available volumes of its class
// with enough capacity, its access modes, its volumeMode and labels its
// selector matches, smallest first.
func candidates(claim *v1.PersistentVolumeClaim, volumes []*v1.PersistentVolume) []*v1.PersistentVolume {
	var selector labels.Selector
	if claim.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(claim.Spec.Selector)
		if err != nil {
			return nil
		}
		selector = s
	}
	want := claim.Spec.Resources.Requests[v1.ResourceStorage]
	var pre, out []*v1.PersistentVolume
	for _, v := range volumes {
		if v.DeletionTimestamp != nil || volumeClass(v) != ClaimClass(claim) {
			continue
		}
		if r := v.Spec.ClaimRef; r != nil {
			if r.Namespace == claim.Namespace && r.Name == claim.Name && (r.UID == "" || r.UID == claim.UID) {
				pre = append(pre, v)
			}
			continue
		}
		if v.Status.Phase != v1.VolumeAvailable && v.Status.Phase != "" {
			continue
		}
		capacity := v.Spec.Capacity[v1.ResourceStorage]
		if capacity.Cmp(want) < 0 || !hasModes(claim, v) || volumeMode(claim.Spec.VolumeMode) != volumeMode(v.Spec.VolumeMode) {
			continue
		}
		if selector != nil && !selector.Matches(labels.Set(v.Labels)) {
			continue
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b *v1.PersistentVolume) int {
		ca, cb := a.Spec.Capacity[v1.ResourceStorage], b.Spec.Capacity[v1.ResourceStorage]
		if c := ca.Cmp(cb); c != 0 {
			return c
		}
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return append(pre, out...)
}

func hasModes(c *v1.PersistentVolumeClaim, v *v1.PersistentVolume) bool {
	for _, m := range c.Spec.AccessModes {
		if !slices.Contains(v.Spec.AccessModes, m) {
			return false
		}
	}
	return true
}

func volumeMode(m *v1.PersistentVolumeMode) v1.PersistentVolumeMode {
	if m == nil {
		return v1.PersistentVolumeFilesystem
	}
	return *m
}

// volumeFitsNode reports whether the volume's node affinity admits node
// (no affinity admits every node).
func volumeFitsNode(v *v1.PersistentVolume, node *v1.Node) bool {
	if v.Spec.NodeAffinity == nil || v.Spec.NodeAffinity.Required == nil {
		return true
	}
	sel, err := framework.NewNodeSelector(v.Spec.NodeAffinity.Required)
	if err != nil {
		return false
	}
	return sel.Match(node)
}

// classAdmits reports whether a class's allowedTopologies admit node.
func classAdmits(c *storagev1.StorageClass, node *v1.Node) bool {
	if len(c.AllowedTopologies) == 0 {
		return true
	}
	for _, term := range c.AllowedTopologies {
		ok := true
		for _, e := range term.MatchLabelExpressions {
			if v, has := node.Labels[e.Key]; !has || !slices.Contains(e.Values, v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Filter implements framework.FilterPlugin.
func (p *Plugin) Filter(_ context.Context, cs *framework.CycleState, _ *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil // PreFilter skipped: the pod has no claims
	}
	s := d.(*state)
	node := ni.Node()
	var reasons []string
	for _, b := range s.bound {
		if b.volume == nil {
			reasons = appendOnce(reasons, ErrReasonPVNotExist)
			continue
		}
		if !volumeFitsNode(b.volume, node) {
			reasons = appendOnce(reasons, ErrReasonNodeConflict)
		}
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)
	}
	if len(s.unbound) == 0 {
		return nil
	}
	decision := framework.VolumeBindings{Static: map[string]string{}}
	taken := map[string]bool{}
	p.mu.Lock()
	for _, u := range s.unbound {
		key := claimKey(u.claim)
		chosen := ""
		for _, v := range u.candidates {
			if taken[v.Name] || !volumeFitsNode(v, node) {
				continue
			}
			if by, ok := p.assumed[v.Name]; ok && by != key {
				continue
			}
			chosen = v.Name
			break
		}
		switch {
		case chosen != "":
			taken[chosen] = true
			decision.Static[key] = chosen
		case u.class.Provisioner != "" && u.class.Provisioner != noProvisioner && classAdmits(u.class, node):
			decision.Provision = append(decision.Provision, u.claim)
		default:
			reasons = appendOnce(reasons, ErrReasonBindConflict)
		}
	}
	p.mu.Unlock()
	if len(reasons) > 0 {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)
	}
	s.mu.Lock()
	s.byNode[node.Name] = decision
	s.mu.Unlock()
	return nil
}

func appendOnce(list []string, r string) []string {
	if slices.Contains(list, r) {
		return list
	}
	return append(list, r)
}

func (s *state) decision(node string) (framework.VolumeBindings, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byNode[node]
	return d, ok
}

// Reserve implements framework.ReservePlugin: it assumes the volumes
// chosen for the node, or fails if another pod assumed one meanwhile.
func (p *Plugin) Reserve(_ context.Context, cs *framework.CycleState, _ *v1.Pod, node string) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil
	}
	dec, ok := d.(*state).decision(node)
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, pv := range dec.Static {
		if by, ok := p.assumed[pv]; ok && by != key {
			return framework.NewStatus(framework.Unschedulable, ErrReasonBindConflict)
		}
	}
	for key, pv := range dec.Static {
		p.assumed[pv] = key
	}
	return nil
}

// Unreserve implements framework.ReservePlugin.
func (p *Plugin) Unreserve(_ context.Context, cs *framework.CycleState, _ *v1.Pod, node string) {
	d, err := cs.Read(stateKey)
	if err != nil {
		return
	}
	dec, ok := d.(*state).decision(node)
	if !ok {
		return
	}
	p.forget(dec)
}

func (p *Plugin) forget(dec framework.VolumeBindings) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, pv := range dec.Static {
		if p.assumed[pv] == key {
			delete(p.assumed, pv)
		}
	}
}

// PreBind implements framework.PreBindPlugin.
func (p *Plugin) PreBind(ctx context.Context, cs *framework.CycleState, pod *v1.Pod, node string) *framework.Status {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil
	}
	s := d.(*state)
	dec, ok := s.decision(node)
	if !ok || (len(dec.Static) == 0 && len(dec.Provision) == 0) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	err = p.volumes.BindVolumes(ctx, pod, node, dec, s.all)
	// Once bound (or failed) the volumes' own state says who has them.
	p.forget(dec)
	if err != nil {
		return framework.AsStatus(fmt.Errorf("binding volumes: %w", err))
	}
	return nil
}
