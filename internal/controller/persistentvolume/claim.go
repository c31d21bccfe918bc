package persistentvolume

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// Event reasons on claims (upstream's).
const (
	reasonFailedBinding        = "FailedBinding"
	reasonVolumeMismatch       = "VolumeMismatch"
	reasonWaitForFirstConsumer = "WaitForFirstConsumer"
	reasonWaitForPodScheduled  = "WaitForPodScheduled"
	reasonExternalProvisioning = "ExternalProvisioning"
	reasonProvisioningFailed   = "ProvisioningFailed"
	reasonClaimLost            = "ClaimLost"
	reasonClaimMisbound        = "ClaimMisbound"
)

// syncClaim brings one claim a step closer to Bound (or Lost).
func (c *Controller) syncClaim(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("claim key %q: %w", key, err)
	}
	claim, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get claim %s: %w", key, err)
	}
	if _, done := claim.Annotations[AnnBindCompleted]; !done {
		err = c.syncUnboundClaim(ctx, claim)
	} else {
		err = c.syncBoundClaim(ctx, claim)
	}
	if err != nil {
		return fmt.Errorf("sync claim %s: %w", key, err)
	}
	return nil
}

// syncUnboundClaim handles a claim whose binding has not completed.
func (c *Controller) syncUnboundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeName == "" {
		return c.matchClaim(ctx, claim)
	}
	// The claim names its volume (set by the user, or by us mid-binding).
	volume, err := c.volumes.Get(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		_, err = c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
		return err
	}
	if err != nil {
		return err
	}
	switch {
	case volume.Spec.ClaimRef == nil:
		if err := checkVolumeSatisfiesClaim(volume, claim); err != nil {
			c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonVolumeMismatch, "Cannot bind to requested volume %q: %s", volume.Name, err)
			_, err = c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
			return err
		}
		return c.bind(ctx, volume, claim)
	case boundToClaim(volume, claim):
		return c.bind(ctx, volume, claim)
	default:
		c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonFailedBinding, "volume %q already bound to a different claim.", volume.Name)
		if _, byUs := claim.Annotations[AnnBoundByController]; byUs {
			return fmt.Errorf("invalid binding of claim %s/%s to volume %q: volume already claimed by %s/%s",
				claim.Namespace, claim.Name, volume.Name, volume.Spec.ClaimRef.Namespace, volume.Spec.ClaimRef.Name)
		}
		_, err = c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
		return err
	}
}

// matchClaim looks for a volume for a claim that names none, and else
// waits for the first consumer, asks for provisioning, or reports that
// nothing can serve the claim.
func (c *Controller) matchClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	delay, err := c.shouldDelayBinding(claim)
	if err != nil {
		return err
	}
	var node *corev1.Node
	if name, ok := claim.Annotations[AnnSelectedNode]; ok && name != "" {
		node = c.selectedNode(name)
	}
	volumes, err := c.volumes.List(labels.Everything())
	if err != nil {
		return err
	}
	volume, err := findBestMatch(claim, volumes, delay, node)
	if err != nil {
		return err
	}
	if volume != nil {
		return c.bind(ctx, volume, claim)
	}
	_, selected := claim.Annotations[AnnSelectedNode]
	switch {
	case delay && !selected:
		c.emitWaitForConsumer(claim)
	case claimClass(claim) != "":
		return c.provisionClaim(ctx, claim)
	default:
		c.recorder.Event(claim, corev1.EventTypeNormal, reasonFailedBinding, "no persistent volumes available for this claim and no storage class is set")
	}
	_, err = c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
	return err
}

// shouldDelayBinding reports whether the claim waits for the scheduler:
// its class binds WaitForFirstConsumer and no node has been selected.
func (c *Controller) shouldDelayBinding(claim *corev1.PersistentVolumeClaim) (bool, error) {
	if _, ok := claim.Annotations[AnnSelectedNode]; ok {
		return false, nil
	}
	name := claimClass(claim)
	if name == "" {
		return false, nil
	}
	class, err := c.classes.Get(name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer, nil
}

// selectedNode returns the named node, or a stand-in carrying only the
// hostname label when the cache does not have it.
func (c *Controller) selectedNode(name string) *corev1.Node {
	if n, err := c.nodes.Get(name); err == nil {
		return n
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelHostname: name}}}
}

// emitWaitForConsumer explains why a delayed claim stays Pending: it
// waits for a pod to use it, or for the pods that do to be scheduled.
func (c *Controller) emitWaitForConsumer(claim *corev1.PersistentVolumeClaim) {
	reason, msg := reasonWaitForFirstConsumer, "waiting for first consumer to be created before binding"
	if pods := c.unscheduledPodsUsing(claim); len(pods) == 1 {
		reason, msg = reasonWaitForPodScheduled, fmt.Sprintf("waiting for pod %s to be scheduled", pods[0])
	} else if len(pods) > 1 {
		reason, msg = reasonWaitForPodScheduled, fmt.Sprintf("waiting for pods %s to be scheduled", strings.Join(pods, ","))
	}
	c.recorder.Event(claim, corev1.EventTypeNormal, reason, msg)
}

// unscheduledPodsUsing names the live, unscheduled pods that mount the
// claim (directly or as a generic ephemeral volume), sorted.
func (c *Controller) unscheduledPodsUsing(claim *corev1.PersistentVolumeClaim) []string {
	pods, err := c.pods.Pods(claim.Namespace).List(labels.Everything())
	if err != nil {
		return nil // listing a cache does not fail; the message is only less precise
	}
	var out []string
	for _, p := range pods {
		if p.Spec.NodeName != "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if (v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim.Name) ||
				(v.Ephemeral != nil && p.Name+"-"+v.Name == claim.Name) {
				out = append(out, p.Name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// provisionClaim hands the claim to its class's provisioner: every
// provisioner is external to the binder, as none is built in.
func (c *Controller) provisionClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	class, err := c.classes.Get(claimClass(claim))
	if apierrors.IsNotFound(err) {
		c.recorder.Event(claim, corev1.EventTypeWarning, reasonProvisioningFailed, err.Error())
		_, err = c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
		return err
	}
	if err != nil {
		return err
	}
	if strings.HasPrefix(class.Provisioner, "kubernetes.io/") {
		// An in-tree plugin name (kubernetes.io/no-provisioner too): Skiff
		// has none.
		c.recorder.Event(claim, corev1.EventTypeWarning, reasonProvisioningFailed, "no volume plugin matched name: "+class.Provisioner)
		_, err = c.updateClaimStatus(ctx, claim, corev1.ClaimPending, nil)
		return err
	}
	if claim.Annotations[AnnStorageProvisioner] != class.Provisioner || claim.Annotations[AnnBetaStorageProvisioner] != class.Provisioner {
		cl := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&cl.ObjectMeta, AnnStorageProvisioner, class.Provisioner)
		metav1.SetMetaDataAnnotation(&cl.ObjectMeta, AnnBetaStorageProvisioner, class.Provisioner)
		claim, err = c.client.CoreV1().PersistentVolumeClaims(cl.Namespace).Update(ctx, cl, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("set provisioner of claim %s/%s: %w", cl.Namespace, cl.Name, err)
		}
	}
	c.recorder.Eventf(claim, corev1.EventTypeNormal, reasonExternalProvisioning,
		"Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
		class.Provisioner)
	return nil
}

// syncBoundClaim keeps a bound claim bound, or marks it Lost when its
// volume went away or belongs to another claim.
func (c *Controller) syncBoundClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeName == "" {
		_, err := c.updateClaimStatusWithEvent(ctx, claim, corev1.ClaimLost, nil, corev1.EventTypeWarning, reasonClaimLost,
			"Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
		return err
	}
	volume, err := c.volumes.Get(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		_, err = c.updateClaimStatusWithEvent(ctx, claim, corev1.ClaimLost, nil, corev1.EventTypeWarning, reasonClaimLost,
			"Bound claim has lost its PersistentVolume. Data on the volume is lost!")
		return err
	}
	if err != nil {
		return err
	}
	if volume.Spec.ClaimRef == nil || volume.Spec.ClaimRef.UID == claim.UID {
		return c.bind(ctx, volume, claim)
	}
	_, err = c.updateClaimStatusWithEvent(ctx, claim, corev1.ClaimLost, nil, corev1.EventTypeWarning, reasonClaimMisbound,
		"Two claims are bound to the same volume, this one is bound incorrectly")
	return err
}
