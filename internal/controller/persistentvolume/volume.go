package persistentvolume

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event reasons on volumes (upstream's).
const (
	reasonVolumeFailedDelete  = "VolumeFailedDelete"
	reasonVolumeFailedRecycle = "VolumeFailedRecycle"
)

// syncVolume keeps a volume's phase in line with its claim and reclaims
// it once the claim is gone.
func (c *Controller) syncVolume(ctx context.Context, key string) error {
	volume, err := c.volumes.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get volume %s: %w", key, err)
	}
	if err := c.syncVolumeObject(ctx, volume); err != nil {
		return fmt.Errorf("sync volume %s: %w", key, err)
	}
	return nil
}

func (c *Controller) syncVolumeObject(ctx context.Context, volume *corev1.PersistentVolume) error {
	ref := volume.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		// Free, or pre-bound by the user to a claim that has not bound yet
		// (the claim's sync does that).
		_, err := c.updateVolumePhase(ctx, volume, corev1.VolumeAvailable, "")
		return err
	}
	claim, err := c.claimOf(ctx, volume)
	if err != nil {
		return err
	}
	switch {
	case claim == nil:
		// The claim is gone: release the volume (keeping a Failed phase, so
		// that the user sees what went wrong while we retry).
		if volume.Status.Phase != corev1.VolumeReleased && volume.Status.Phase != corev1.VolumeFailed {
			c.log.Info("Volume released", "volume", volume.Name, "reclaimPolicy", volume.Spec.PersistentVolumeReclaimPolicy)
			if volume, err = c.updateVolumePhase(ctx, volume, corev1.VolumeReleased, ""); err != nil {
				return err
			}
		}
		return c.reclaimVolume(ctx, volume)
	case claim.Spec.VolumeName == "":
		if volumeModeMismatch(claim, volume) {
			c.recorder.Eventf(volume, corev1.EventTypeWarning, reasonVolumeMismatch,
				"Cannot bind PersistentVolume to requested PersistentVolumeClaim %q due to incompatible volumeMode.", claim.Name)
			c.recorder.Eventf(claim, corev1.EventTypeWarning, reasonVolumeMismatch,
				"Cannot bind PersistentVolume %q to requested PersistentVolumeClaim due to incompatible volumeMode.", volume.Name)
			return nil
		}
		// Binding is half done (or the volume was just provisioned for the
		// claim): the claim's sync finishes it.
		c.claimRunner.Enqueue(claim.Namespace + "/" + claim.Name)
		return nil
	case claim.Spec.VolumeName == volume.Name:
		_, err = c.updateVolumePhase(ctx, volume, corev1.VolumeBound, "")
		return err
	default:
		// The claim bound to another volume.
		if _, ok := volume.Annotations[AnnDynamicallyProvisioned]; ok && volume.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
			// Provisioned for this claim and not needed any more.
			if volume.Status.Phase != corev1.VolumeReleased && volume.Status.Phase != corev1.VolumeFailed {
				if volume, err = c.updateVolumePhase(ctx, volume, corev1.VolumeReleased, ""); err != nil {
					return err
				}
			}
			return c.reclaimVolume(ctx, volume)
		}
		return c.unbindVolume(ctx, volume)
	}
}

// claimOf returns the claim the volume is bound to, or nil when it no
// longer exists (a claim of the same name but another UID does not
// count). A claim missing from the cache is looked up on the server before
// a live volume is released: it may be newer than the cache.
func (c *Controller) claimOf(ctx context.Context, volume *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	ref := volume.Spec.ClaimRef
	claim, err := c.claims.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if apierrors.IsNotFound(err) {
		if volume.Status.Phase == corev1.VolumeReleased || volume.Status.Phase == corev1.VolumeFailed {
			return nil, nil
		}
		claim, err = c.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("get claim %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	if claim.UID != ref.UID {
		return nil, nil
	}
	return claim, nil
}

// reclaimVolume applies a Released volume's reclaim policy. Retain keeps
// it Released; Delete leaves a provisioned volume to its external
// provisioner; anything else turns Failed, as no in-tree deleter or
// recycler exists.
func (c *Controller) reclaimVolume(ctx context.Context, volume *corev1.PersistentVolume) error {
	switch volume.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain:
		return nil
	case corev1.PersistentVolumeReclaimRecycle:
		_, err := c.updateVolumePhaseWithEvent(ctx, volume, corev1.VolumeFailed, corev1.EventTypeWarning, reasonVolumeFailedRecycle,
			"No recycler plugin found for the volume!")
		return err
	case corev1.PersistentVolumeReclaimDelete:
		msg := fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", volume.Name)
		if p := volume.Annotations[AnnDynamicallyProvisioned]; p != "" {
			if !strings.HasPrefix(p, "kubernetes.io/") {
				return nil // the external provisioner deletes it
			}
			msg = "no volume plugin matched name: " + p
		}
		_, err := c.updateVolumePhaseWithEvent(ctx, volume, corev1.VolumeFailed, corev1.EventTypeWarning, reasonVolumeFailedDelete, msg)
		return err
	default:
		_, err := c.updateVolumePhaseWithEvent(ctx, volume, corev1.VolumeFailed, corev1.EventTypeWarning, "VolumeUnknownReclaimPolicy",
			"Volume has unrecognized PersistentVolumeReclaimPolicy")
		return err
	}
}
