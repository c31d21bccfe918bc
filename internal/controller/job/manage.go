package job

import (
	"context"
	"errors"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// maxBatch bounds one slow-start batch of pod creations (upstream's
// burst).
const maxBatch = 500

// manage creates or deletes pods so that the Job runs as many as its
// parallelism and remaining completions call for; it returns how many it
// deleted and how many it created. It does nothing while earlier creations and deletions are
// still to be observed.
func (c *Controller) manage(ctx context.Context, s *syncState, active []*corev1.Pod, terminating int) (int, int, error) {
	if !c.expectations.Satisfied(s.key) {
		return 0, 0, nil
	}
	job := s.job
	parallelism := 1
	if job.Spec.Parallelism != nil {
		parallelism = int(*job.Spec.Parallelism)
	}
	occupied := 0
	if onlyReplaceFailed(job) {
		occupied = terminating
	}
	if isIndexed(job) {
		return c.manageIndexed(ctx, s, active, parallelism, occupied)
	}
	succeeded := int(s.job.Status.Succeeded)
	if u := s.job.Status.UncountedTerminatedPods; u != nil {
		succeeded += len(u.Succeeded)
	}
	var want int
	switch {
	case job.Spec.Completions == nil && succeeded > 0:
		want = len(active) // let the running ones finish, start no more
	case job.Spec.Completions == nil:
		want = parallelism
	default:
		want = max(min(completions(job)-succeeded, parallelism), 0)
	}
	if len(active) > want {
		victims := slices.Clone(active)
		slices.SortFunc(victims, deletionOrder)
		n, err := c.deletePods(ctx, s, victims[:len(active)-want])
		return n, 0, err
	}
	n := want - len(active) - occupied
	if n <= 0 {
		return 0, 0, nil
	}
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = newPod(job, -1)
	}
	created, err := c.createPods(ctx, s, pods)
	return 0, created, err
}

// manageIndexed keeps one pod for each of the lowest pending indexes, up
// to parallelism, and deletes duplicates and pods of finished or invalid
// indexes.
func (c *Controller) manageIndexed(ctx context.Context, s *syncState, active []*corev1.Pod, parallelism, occupied int) (int, int, error) {
	job := s.job
	n := completions(job)
	var excess []*corev1.Pod
	byIndex := map[int]*corev1.Pod{}
	sorted := slices.Clone(active)
	// Keep the pod of each index least cheap to lose.
	slices.SortFunc(sorted, func(a, b *corev1.Pod) int { return -deletionOrder(a, b) })
	for _, p := range sorted {
		ix := completionIndex(p)
		if ix < 0 || ix >= n || s.completed[ix] || byIndex[ix] != nil {
			excess = append(excess, p)
			continue
		}
		byIndex[ix] = p
	}
	want := min(parallelism, n-len(s.completed))
	if len(byIndex) > want {
		var kept []int
		for ix := range byIndex {
			kept = append(kept, ix)
		}
		slices.Sort(kept)
		for _, ix := range kept[want:] {
			excess = append(excess, byIndex[ix])
		}
	}
	if len(excess) > 0 {
		n, err := c.deletePods(ctx, s, excess)
		return n, 0, err
	}
	busy := map[int]bool{}
	for ix := range byIndex {
		busy[ix] = true
	}
	if occupied > 0 {
		for _, p := range s.pods {
			if isTerminating(p) {
				busy[completionIndex(p)] = true
			}
		}
	}
	var pods []*corev1.Pod
	for ix := 0; ix < n && len(byIndex)+occupied+len(pods) < want; ix++ {
		if !s.completed[ix] && !busy[ix] {
			pods = append(pods, newPod(job, ix))
		}
	}
	created, err := c.createPods(ctx, s, pods)
	return 0, created, err
}

// createPods creates pods in slow-start batches (1, 2, 4, …) unless the
// back-off after recent failures still runs, in which case it asks for a
// sync once it ends. It returns how many pods it created.
func (c *Controller) createPods(ctx context.Context, s *syncState, pods []*corev1.Pod) (int, error) {
	if len(pods) == 0 {
		return 0, nil
	}
	if wait := c.backoffs.get(s.key).remaining(s.now.Time, c.backoffBase, c.backoffMax); wait > 0 {
		s.requeueAfter(wait)
		return 0, nil
	}
	c.expectations.ExpectCreations(s.key, len(pods))
	var errs []error
	done := 0
	for batch := 1; done < len(pods) && len(errs) == 0; batch = min(2*batch, maxBatch) {
		for _, p := range pods[done:min(done+batch, len(pods))] {
			if err := c.podControl.createPod(ctx, s.job, p); err != nil {
				errs = append(errs, err)
			}
		}
		done = min(done+batch, len(pods))
	}
	// Creations that failed or were not tried will never be observed.
	for range len(errs) + len(pods) - done {
		c.expectations.CreationObserved(s.key)
	}
	return done - len(errs), errors.Join(errs...)
}
