package persistentvolume

import (
	"errors"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Annotations and labels upstream's binder reads and writes.
const (
	// AnnBindCompleted on a claim says its binding finished.
	AnnBindCompleted = "pv.kubernetes.io/bind-completed"
	// AnnBoundByController on a claim or volume says the binder (not the
	// user) set the binding, so it may undo it.
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
	// AnnStorageProvisioner on a claim names the provisioner asked to
	// provision it; AnnBetaStorageProvisioner is its older spelling, both
	// are written.
	AnnStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	// AnnSelectedNode on a claim is the node the scheduler chose for the
	// first pod using a WaitForFirstConsumer claim.
	AnnSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnDynamicallyProvisioned on a volume names the provisioner that
	// created it.
	AnnDynamicallyProvisioned = "pv.kubernetes.io/provisioned-by"
	// AnnBetaStorageClass is the legacy class annotation that wins over
	// spec.storageClassName on claims and volumes.
	AnnBetaStorageClass = "volume.beta.kubernetes.io/storage-class"

	labelHostname = "kubernetes.io/hostname"
)

// claimClass returns the storage class a claim asks for ("" for none).
func claimClass(c *corev1.PersistentVolumeClaim) string {
	if v, ok := c.Annotations[AnnBetaStorageClass]; ok {
		return v
	}
	if c.Spec.StorageClassName != nil {
		return *c.Spec.StorageClassName
	}
	return ""
}

// volumeClass returns a volume's storage class ("" for none).
func volumeClass(v *corev1.PersistentVolume) string {
	if c, ok := v.Annotations[AnnBetaStorageClass]; ok {
		return c
	}
	return v.Spec.StorageClassName
}

// volumeModeMismatch reports whether claim and volume differ in
// volumeMode (unset meaning Filesystem).
func volumeModeMismatch(c *corev1.PersistentVolumeClaim, v *corev1.PersistentVolume) bool {
	cm, vm := corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeFilesystem
	if c.Spec.VolumeMode != nil {
		cm = *c.Spec.VolumeMode
	}
	if v.Spec.VolumeMode != nil {
		vm = *v.Spec.VolumeMode
	}
	return cm != vm
}

// hasAccessModes reports whether v offers every access mode c asks for.
func hasAccessModes(c *corev1.PersistentVolumeClaim, v *corev1.PersistentVolume) bool {
	for _, m := range c.Spec.AccessModes {
		if !slices.Contains(v.Spec.AccessModes, m) {
			return false
		}
	}
	return true
}

// distinctModes counts the distinct access modes of v.
func distinctModes(v *corev1.PersistentVolume) int {
	seen := map[corev1.PersistentVolumeAccessMode]bool{}
	for _, m := range v.Spec.AccessModes {
		seen[m] = true
	}
	return len(seen)
}

func requested(c *corev1.PersistentVolumeClaim) resource.Quantity {
	return c.Spec.Resources.Requests[corev1.ResourceStorage]
}

func capacity(v *corev1.PersistentVolume) resource.Quantity {
	return v.Spec.Capacity[corev1.ResourceStorage]
}

// boundToClaim reports whether v's claimRef names c (an empty claimRef
// UID, a pre-binding by the user, names any claim of that name).
func boundToClaim(v *corev1.PersistentVolume, c *corev1.PersistentVolumeClaim) bool {
	r := v.Spec.ClaimRef
	return r != nil && r.Name == c.Name && r.Namespace == c.Namespace && (r.UID == "" || r.UID == c.UID)
}

// findBestMatch picks the volume for claim among volumes, or nil. A
// volume pre-bound to the claim wins. Otherwise, unless delayBinding (the
// scheduler's turn), the candidates are Available, unclaimed volumes of
// the claim's class whose labels match its selector, with every requested
// access mode, the same volumeMode and at least the requested capacity;
// among them the one with the fewest access modes, then the smallest
// capacity, then the first name wins. node, when not nil, is the node the
// scheduler selected: volumes whose node affinity rejects it do not match
// (and a pre-bound volume that rejects it means no match at all).
func findBestMatch(claim *corev1.PersistentVolumeClaim, volumes []*corev1.PersistentVolume, delayBinding bool, node *corev1.Node) (*corev1.PersistentVolume, error) {
	var selector labels.Selector
	if claim.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(claim.Spec.Selector)
		if err != nil {
			return nil, err
		}
		selector = s
	}
	want := requested(claim)
	class := claimClass(claim)
	var best *corev1.PersistentVolume
	better := func(v *corev1.PersistentVolume) bool {
		if best == nil {
			return true
		}
		if a, b := distinctModes(v), distinctModes(best); a != b {
			return a < b
		}
		vc, bc := capacity(v), capacity(best)
		if c := vc.Cmp(bc); c != 0 {
			return c < 0
		}
		return v.Name < best.Name
	}
	for _, v := range volumes {
		vq := capacity(v)
		if vq.Cmp(want) < 0 || volumeModeMismatch(claim, v) || v.DeletionTimestamp != nil || !hasAccessModes(claim, v) {
			continue
		}
		affinityOK := node == nil || nodeAffinityAdmits(v, node)
		if boundToClaim(v, claim) {
			if !affinityOK {
				return nil, nil
			}
			return v, nil
		}
		if delayBinding && node == nil {
			continue
		}
		if v.Status.Phase != corev1.VolumeAvailable || v.Spec.ClaimRef != nil ||
			(selector != nil && !selector.Matches(labels.Set(v.Labels))) || volumeClass(v) != class || !affinityOK {
			continue
		}
		if better(v) {
			best = v
		}
	}
	return best, nil
}

// checkVolumeSatisfiesClaim returns why volume cannot serve claim, which
// names it in spec.volumeName, or nil.
func checkVolumeSatisfiesClaim(v *corev1.PersistentVolume, c *corev1.PersistentVolumeClaim) error {
	if v.DeletionTimestamp != nil {
		return errors.New("the volume is marked for deletion " + strconv.Quote(v.Name))
	}
	vq, want := capacity(v), requested(c)
	if vq.Value() < want.Value() {
		return errors.New("requested PV is too small")
	}
	if volumeClass(v) != claimClass(c) {
		return errors.New("storageClassName does not match")
	}
	if volumeModeMismatch(c, v) {
		return errors.New("incompatible volumeMode")
	}
	if !hasAccessModes(c, v) {
		return errors.New("incompatible accessMode")
	}
	return nil
}

// nodeAffinityAdmits reports whether v's required node affinity (if any)
// admits node: one of its terms must match the node's labels and name.
func nodeAffinityAdmits(v *corev1.PersistentVolume, node *corev1.Node) bool {
	if v.Spec.NodeAffinity == nil || v.Spec.NodeAffinity.Required == nil {
		return true
	}
	for _, term := range v.Spec.NodeAffinity.Required.NodeSelectorTerms {
		if termMatches(term, node) {
			return true
		}
	}
	return false
}

func termMatches(term corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, r := range term.MatchExpressions {
		v, ok := node.Labels[r.Key]
		if !requirementMatches(r, v, ok) {
			return false
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != "metadata.name" || !requirementMatches(r, node.Name, true) {
			return false
		}
	}
	return true
}

func requirementMatches(r corev1.NodeSelectorRequirement, v string, present bool) bool {
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return present && slices.Contains(r.Values, v)
	case corev1.NodeSelectorOpNotIn:
		return !present || !slices.Contains(r.Values, v)
	case corev1.NodeSelectorOpExists:
		return present
	case corev1.NodeSelectorOpDoesNotExist:
		return !present
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(v, 10, 64)
		limit, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == corev1.NodeSelectorOpGt {
			return have > limit
		}
		return have < limit
	}
	return false
}
