package persistentvolume

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

func equalSource(a, b corev1.PersistentVolumeSource) bool {
	return equality.Semantic.DeepEqual(a, b)
}
