package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// defaultFileMode is the mode of projected files when the pod says none
// (the API server defaults defaultMode to it too).
const defaultFileMode = 0o644

func fileMode(item, def *int32) os.FileMode {
	switch {
	case item != nil:
		return os.FileMode(*item)
	case def != nil:
		return os.FileMode(*def)
	}
	return defaultFileMode
}

// configMapPayload returns the files of a configMap volume or projection:
// every key (Data and BinaryData) without items, else the items' keys at
// their paths. A key an item names that is missing is an error unless
// optional.
func configMapPayload(cm *corev1.ConfigMap, items []corev1.KeyToPath, defaultMode *int32, optional bool) (map[string]File, error) {
	out := make(map[string]File, len(cm.Data)+len(cm.BinaryData))
	if len(items) == 0 {
		for k, v := range cm.Data {
			out[k] = File{Data: []byte(v), Mode: fileMode(nil, defaultMode)}
		}
		for k, v := range cm.BinaryData {
			out[k] = File{Data: v, Mode: fileMode(nil, defaultMode)}
		}
		return out, nil
	}
	for _, it := range items {
		var data []byte
		if s, ok := cm.Data[it.Key]; ok {
			data = []byte(s)
		} else if b, ok := cm.BinaryData[it.Key]; ok {
			data = b
		} else {
			if optional {
				continue
			}
			return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		out[filepath.Clean(it.Path)] = File{Data: data, Mode: fileMode(it.Mode, defaultMode)}
	}
	return out, nil
}

// secretPayload is configMapPayload for a Secret.
func secretPayload(s *corev1.Secret, items []corev1.KeyToPath, defaultMode *int32, optional bool) (map[string]File, error) {
	out := make(map[string]File, len(s.Data))
	if len(items) == 0 {
		for k, v := range s.Data {
			out[k] = File{Data: v, Mode: fileMode(nil, defaultMode)}
		}
		return out, nil
	}
	for _, it := range items {
		data, ok := s.Data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("secret references non-existent secret key: %s", it.Key)
		}
		out[filepath.Clean(it.Path)] = File{Data: data, Mode: fileMode(it.Mode, defaultMode)}
	}
	return out, nil
}

// downwardPayload returns the files of a downwardAPI volume or
// projection. Every item is tried; the errors of those that fail are
// returned together.
func downwardPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, defaultMode *int32, allocatable corev1.ResourceList) (map[string]File, error) {
	out := make(map[string]File, len(items))
	var errs []error
	for _, it := range items {
		f := File{Mode: fileMode(it.Mode, defaultMode)}
		switch {
		case it.FieldRef != nil:
			v, err := FieldValue(pod, it.FieldRef.FieldPath, PodAddresses{})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.Data = []byte(v)
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				errs = append(errs, fmt.Errorf("container %q not found in pod", it.ResourceFieldRef.ContainerName))
				continue
			}
			v, err := ResourceValue(it.ResourceFieldRef, c, allocatable)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.Data = []byte(v)
		}
		out[filepath.Clean(it.Path)] = f
	}
	return out, errors.Join(errs...)
}

// projectedPayload returns the files of a projected volume: the union of
// its sources'. Each source is tried; the errors of those that fail are
// returned together.
func (m *Manager) projectedPayload(ctx context.Context, pod *corev1.Pod, vol *corev1.ProjectedVolumeSource) (map[string]File, error) {
	out := map[string]File{}
	var errs []error
	add := func(files map[string]File, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for k, v := range files {
			out[k] = v
		}
	}
	for _, src := range vol.Sources {
		switch {
		case src.ConfigMap != nil:
			optional := src.ConfigMap.Optional != nil && *src.ConfigMap.Optional
			cm, err := m.cfg.Objects.ConfigMap(ctx, pod.Namespace, src.ConfigMap.Name)
			if err != nil {
				if !apierrors.IsNotFound(err) || !optional {
					errs = append(errs, err)
					continue
				}
				cm = &corev1.ConfigMap{}
			}
			add(configMapPayload(cm, src.ConfigMap.Items, vol.DefaultMode, optional))
		case src.Secret != nil:
			optional := src.Secret.Optional != nil && *src.Secret.Optional
			s, err := m.cfg.Objects.Secret(ctx, pod.Namespace, src.Secret.Name)
			if err != nil {
				if !apierrors.IsNotFound(err) || !optional {
					errs = append(errs, err)
					continue
				}
				s = &corev1.Secret{}
			}
			add(secretPayload(s, src.Secret.Items, vol.DefaultMode, optional))
		case src.DownwardAPI != nil:
			add(downwardPayload(pod, src.DownwardAPI.Items, vol.DefaultMode, m.allocatable()))
		case src.ServiceAccountToken != nil:
			tok, err := m.token(ctx, pod, src.ServiceAccountToken)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if tok != "" {
				out[filepath.Clean(src.ServiceAccountToken.Path)] = File{Data: []byte(tok), Mode: fileMode(nil, vol.DefaultMode)}
			}
		default:
			// clusterTrustBundle and podCertificate sources are not
			// supported: their files are simply absent.
			m.log.Debug("Skipping an unsupported projected volume source", "pod", pod.Namespace+"/"+pod.Name)
		}
	}
	return out, errors.Join(errs...)
}
