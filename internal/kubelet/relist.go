package kubelet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// fullSyncPeriod is how often a pod whose runtime state has not changed
// is synced anyway (volumes' contents, time-driven status). Upstream's
// kubelet waits a minute (--sync-frequency); the agent is quicker so that
// mounted ConfigMaps and Secrets follow edits sooner.
const fullSyncPeriod = 10 * time.Second

// relist is the runtime's state of every pod, read with one call for the
// sandboxes and one for the containers, as upstream's PLEG does: a pod is
// synced when its state changed since the last relist, rather than every
// pod every second (each sync costs several CRI calls).
type relist struct {
	// state is a fingerprint of each pod's sandboxes and containers (IDs
	// and states), by pod UID.
	state map[types.UID]string
}

// readRelist lists the runtime's sandboxes and containers once.
func (k *Kubelet) readRelist(ctx context.Context) (relist, error) {
	sbs, err := k.runtime.ListPodSandbox(ctx, nil)
	if err != nil {
		return relist{}, err
	}
	cs, err := k.runtime.ListContainers(ctx, nil)
	if err != nil {
		return relist{}, err
	}
	parts := map[types.UID][]string{}
	for _, sb := range sbs {
		uid := types.UID(sb.Labels[labelPodUID])
		parts[uid] = append(parts[uid], fmt.Sprintf("s%s=%d", sb.Id, sb.State))
	}
	for _, c := range cs {
		uid := types.UID(c.Labels[labelPodUID])
		parts[uid] = append(parts[uid], fmt.Sprintf("c%s=%d", c.Id, c.State))
	}
	r := relist{state: make(map[types.UID]string, len(parts))}
	for uid, p := range parts {
		slices.Sort(p)
		r.state[uid] = strings.Join(p, ",")
	}
	return r, nil
}

// enqueueChanged enqueues the pods whose runtime state differs from the
// previous relist's, or that were last enqueued fullSyncPeriod ago. Pods
// without a relist (the runtime could not be listed) are all enqueued.
func (k *Kubelet) enqueueChanged(pods []*corev1.Pod, r relist, ok bool) {
	now := k.clock.Now()
	k.relistMu.Lock()
	defer k.relistMu.Unlock()
	if k.lastSync == nil {
		k.lastSync = map[types.UID]time.Time{}
	}
	seen := make(map[types.UID]bool, len(pods))
	for _, p := range pods {
		seen[p.UID] = true
		last, synced := k.lastSync[p.UID]
		changed := !ok || r.state[p.UID] != k.lastRelist.state[p.UID]
		if synced && !changed && now.Sub(last) < fullSyncPeriod {
			continue
		}
		k.lastSync[p.UID] = now
		k.queue.Add(p.Namespace + "/" + p.Name)
	}
	for uid := range k.lastSync {
		if !seen[uid] {
			delete(k.lastSync, uid)
		}
	}
	if ok {
		k.lastRelist = r
	}
}
