package persistentvolume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bind binds volume and claim to each other in four idempotent writes:
// the volume's claimRef, its phase, the claim's volumeName and
// annotations, its status. A crash between them leaves a state the next
// sync recognises and finishes.
func (c *Controller) bind(ctx context.Context, volume *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	volume, err := c.bindVolumeToClaim(ctx, volume, claim)
	if err != nil {
		return err
	}
	if volume, err = c.updateVolumePhase(ctx, volume, corev1.VolumeBound, ""); err != nil {
		return err
	}
	if claim, err = c.bindClaimToVolume(ctx, claim, volume); err != nil {
		return err
	}
	if _, err = c.updateClaimStatus(ctx, claim, corev1.ClaimBound, volume); err != nil {
		return err
	}
	c.log.Info("Bound claim to volume", "claim", claim.Namespace+"/"+claim.Name, "volume", volume.Name)
	return nil
}

// claimRef returns a reference to claim, as a volume's claimRef.
func claimRef(claim *corev1.PersistentVolumeClaim) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: claim.Namespace, Name: claim.Name,
		UID: claim.UID, ResourceVersion: claim.ResourceVersion,
	}
}

// bindVolumeToClaim points the volume's claimRef at claim (with its UID),
// marking it bound-by-controller unless the user pre-bound it.
func (c *Controller) bindVolumeToClaim(ctx context.Context, volume *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) (*corev1.PersistentVolume, error) {
	byUs := !boundToClaim(volume, claim)
	v := volume.DeepCopy()
	dirty := false
	if r := v.Spec.ClaimRef; r == nil || r.Name != claim.Name || r.Namespace != claim.Namespace || r.UID != claim.UID {
		v.Spec.ClaimRef = claimRef(claim)
		dirty = true
	}
	if _, ok := v.Annotations[AnnBoundByController]; byUs && !ok {
		metav1.SetMetaDataAnnotation(&v.ObjectMeta, AnnBoundByController, "yes")
		dirty = true
	}
	if !dirty {
		return volume, nil
	}
	out, err := c.client.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind volume %s to claim %s/%s: %w", v.Name, claim.Namespace, claim.Name, err)
	}
	return out, nil
}

// bindClaimToVolume sets the claim's volumeName and the bind-completed
// annotation.
func (c *Controller) bindClaimToVolume(ctx context.Context, claim *corev1.PersistentVolumeClaim, volume *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	cl := claim.DeepCopy()
	dirty := false
	if cl.Spec.VolumeName != volume.Name {
		cl.Spec.VolumeName = volume.Name
		metav1.SetMetaDataAnnotation(&cl.ObjectMeta, AnnBoundByController, "yes")
		dirty = true
	}
	if _, ok := cl.Annotations[AnnBindCompleted]; !ok {
		metav1.SetMetaDataAnnotation(&cl.ObjectMeta, AnnBindCompleted, "yes")
		dirty = true
	}
	if !dirty {
		return claim, nil
	}
	out, err := c.client.CoreV1().PersistentVolumeClaims(cl.Namespace).Update(ctx, cl, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("bind claim %s/%s to volume %s: %w", cl.Namespace, cl.Name, volume.Name, err)
	}
	return out, nil
}

// unbindVolume undoes a binding whose claim went elsewhere: a binding we
// made is removed, a user's pre-binding keeps its claim name but loses
// the UID. The volume is Available again.
func (c *Controller) unbindVolume(ctx context.Context, volume *corev1.PersistentVolume) error {
	v := volume.DeepCopy()
	if _, ok := v.Annotations[AnnBoundByController]; ok {
		v.Spec.ClaimRef = nil
		delete(v.Annotations, AnnBoundByController)
		if len(v.Annotations) == 0 {
			v.Annotations = nil
		}
	} else {
		v.Spec.ClaimRef.UID = ""
	}
	out, err := c.client.CoreV1().PersistentVolumes().Update(ctx, v, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("unbind volume %s: %w", v.Name, err)
	}
	_, err = c.updateVolumePhase(ctx, out, corev1.VolumeAvailable, "")
	return err
}

// claimStatus returns claim's status for phase: access modes from the
// volume (cleared without one), and its capacity when the claim becomes
// Bound.
func claimStatus(claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, volume *corev1.PersistentVolume) corev1.PersistentVolumeClaimStatus {
	s := *claim.Status.DeepCopy()
	s.Phase = phase
	if volume == nil {
		s.AccessModes, s.Capacity = nil, nil
		return s
	}
	s.AccessModes = volume.Spec.AccessModes
	if claim.Status.Phase != phase {
		if q, ok := volume.Spec.Capacity[corev1.ResourceStorage]; ok {
			if cur, ok := s.Capacity[corev1.ResourceStorage]; !ok || cur.Cmp(q) != 0 {
				s.Capacity = corev1.ResourceList{corev1.ResourceStorage: q}
			}
		}
	}
	return s
}

// updateClaimStatus writes the claim's status for phase, if it changes.
func (c *Controller) updateClaimStatus(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, volume *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	s := claimStatus(claim, phase, volume)
	if equality.Semantic.DeepEqual(s, claim.Status) {
		return claim, nil
	}
	cl := claim.DeepCopy()
	cl.Status = s
	out, err := c.client.CoreV1().PersistentVolumeClaims(cl.Namespace).UpdateStatus(ctx, cl, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update status of claim %s/%s: %w", cl.Namespace, cl.Name, err)
	}
	return out, nil
}

// updateClaimStatusWithEvent moves the claim to phase and records the
// event, unless it is in phase already.
func (c *Controller) updateClaimStatusWithEvent(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, volume *corev1.PersistentVolume, eventType, reason, msg string) (*corev1.PersistentVolumeClaim, error) {
	if claim.Status.Phase == phase {
		return claim, nil
	}
	out, err := c.updateClaimStatus(ctx, claim, phase, volume)
	if err != nil {
		return nil, err
	}
	c.recorder.Event(out, eventType, reason, msg)
	return out, nil
}

// updateVolumePhase moves the volume to phase with message, stamping
// lastPhaseTransitionTime; a volume already in phase is left alone.
func (c *Controller) updateVolumePhase(ctx context.Context, volume *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, message string) (*corev1.PersistentVolume, error) {
	if volume.Status.Phase == phase {
		return volume, nil
	}
	v := volume.DeepCopy()
	now := metav1.NewTime(c.clock.Now())
	v.Status.Phase, v.Status.Message, v.Status.LastPhaseTransitionTime = phase, message, &now
	out, err := c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, v, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("set volume %s %s: %w", v.Name, phase, err)
	}
	return out, nil
}

// updateVolumePhaseWithEvent is updateVolumePhase recording an event (with
// msg as the message of both) when the phase changes.
func (c *Controller) updateVolumePhaseWithEvent(ctx context.Context, volume *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, eventType, reason, msg string) (*corev1.PersistentVolume, error) {
	if volume.Status.Phase == phase {
		return volume, nil
	}
	out, err := c.updateVolumePhase(ctx, volume, phase, msg)
	if err != nil {
		return nil, err
	}
	c.recorder.Event(out, eventType, reason, msg)
	return out, nil
}
