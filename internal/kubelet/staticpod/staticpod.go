package staticpod

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Annotations of upstream's kubelet on static and mirror pods.
const (
	AnnotationHash   = "kubernetes.io/config.hash"
	AnnotationSource = "kubernetes.io/config.source"
	AnnotationSeen   = "kubernetes.io/config.seen"
	AnnotationMirror = corev1.MirrorPodAnnotationKey // kubernetes.io/config.mirror
	// SourceFile is config.source of pods from a manifest directory.
	SourceFile = "file"
)

// IsStatic reports whether pod came from a manifest file (not the API).
func IsStatic(pod *corev1.Pod) bool { return pod.Annotations[AnnotationSource] == SourceFile }

// IsMirror reports whether pod is the API's mirror of a static pod.
func IsMirror(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[AnnotationMirror]
	return ok
}

// MirrorMatches reports whether mirror reflects static (same config
// hash).
func MirrorMatches(static, mirror *corev1.Pod) bool {
	return mirror.Annotations[AnnotationMirror] == static.Annotations[AnnotationHash]
}

// Key returns the "namespace/name" key of pod.
func Key(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

// Load reads every manifest of dir and returns the static pods of node
// by key, plus one error per file that could not be used (those files are
// skipped). seen gives the config.seen time of a pod UID (the first time
// the caller saw it); a missing dir holds no pods.
func Load(dir, node string, seen func(types.UID) time.Time) (map[string]*corev1.Pod, []error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]*corev1.Pod{}, nil
	}
	if err != nil {
		return nil, []error{err}
	}
	out := map[string]*corev1.Pod{}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || strings.HasPrefix(name, ".") || !slices.Contains([]string{".yaml", ".yml", ".json"}, ext) {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pod, err := FromManifest(data, path, node)
		if err != nil {
			errs = append(errs, fmt.Errorf("static pod manifest %s: %w", path, err))
			continue
		}
		if _, dup := out[Key(pod)]; dup {
			errs = append(errs, fmt.Errorf("static pod manifest %s: another manifest already defines pod %s", path, Key(pod)))
			continue
		}
		pod.Annotations[AnnotationSeen] = seen(pod.UID).UTC().Format(time.RFC3339Nano)
		out[Key(pod)] = pod
	}
	return out, errs
}

// FromManifest returns the static pod that manifest data (YAML or JSON)
// at path defines on node, with upstream's name, UID, annotations and the
// defaults the agent relies on.
func FromManifest(data []byte, path, node string) (*corev1.Pod, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, err
	}
	if tm.Kind != "Pod" || (tm.APIVersion != "v1" && tm.APIVersion != "") {
		return nil, fmt.Errorf("kind %q apiVersion %q is not a v1 Pod", tm.Kind, tm.APIVersion)
	}
	pod := &corev1.Pod{}
	if err := yaml.Unmarshal(data, pod); err != nil {
		return nil, err
	}
	if pod.Name == "" {
		return nil, errors.New("metadata.name is required")
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, errors.New("spec.containers is required")
	}
	pod.Name = strings.ToLower(pod.Name + "-" + node)
	if errs := validation.IsDNS1123Subdomain(pod.Name); len(errs) > 0 {
		return nil, fmt.Errorf("pod name %q: %s", pod.Name, strings.Join(errs, "; "))
	}
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	pod.Spec.NodeName = node
	// The UID hashes the node, the file and what the manifest says, so
	// that an edit makes a new pod and a restart the same one.
	canon, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	h := md5.New()
	fmt.Fprintf(h, "host:%s", node)
	fmt.Fprintf(h, "file:%s", path)
	h.Write(canon)
	uid := hex.EncodeToString(h.Sum(nil))
	pod.UID = types.UID(uid)
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationHash] = uid
	pod.Annotations[AnnotationSource] = SourceFile
	pod.ResourceVersion, pod.Generation = "", 0
	applyDefaults(pod)
	// Static pods tolerate every NoExecute taint: nothing can evict them.
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute})
	pod.Status = corev1.PodStatus{}
	return pod, nil
}

// applyDefaults fills in the API defaults the agent reads when it runs a
// pod the API server never saw.
func applyDefaults(pod *corev1.Pod) {
	s := &pod.Spec
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.TerminationGracePeriodSeconds == nil {
		g := int64(corev1.DefaultTerminationGracePeriodSeconds)
		s.TerminationGracePeriodSeconds = &g
	}
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.SchedulerName == "" {
		s.SchedulerName = corev1.DefaultSchedulerName
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	for _, cs := range []([]corev1.Container){s.InitContainers, s.Containers} {
		for i := range cs {
			c := &cs[i]
			if c.ImagePullPolicy == "" {
				c.ImagePullPolicy = corev1.PullIfNotPresent
				if tagLatestOrNone(c.Image) {
					c.ImagePullPolicy = corev1.PullAlways
				}
			}
			if c.TerminationMessagePath == "" {
				c.TerminationMessagePath = corev1.TerminationMessagePathDefault
			}
			if c.TerminationMessagePolicy == "" {
				c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
			}
			for name, q := range c.Resources.Limits {
				if c.Resources.Requests == nil {
					c.Resources.Requests = corev1.ResourceList{}
				}
				if _, ok := c.Resources.Requests[name]; !ok {
					c.Resources.Requests[name] = q.DeepCopy()
				}
			}
		}
	}
}

// tagLatestOrNone reports whether image has no tag or the tag latest (and
// no digest), which defaults imagePullPolicy to Always.
func tagLatestOrNone(image string) bool {
	if strings.Contains(image, "@") {
		return false
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	return !ok || tag == "latest"
}

// Mirror returns the mirror pod of static for the API: the same pod
// without UID or status, annotated config.mirror, and owned by the Node
// (nodeUID) so that it goes with the node.
func Mirror(static *corev1.Pod, nodeUID types.UID) *corev1.Pod {
	m := static.DeepCopy()
	m.UID = ""
	m.Status = corev1.PodStatus{}
	m.Annotations[AnnotationMirror] = static.Annotations[AnnotationHash]
	controller := true
	m.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Node", Name: static.Spec.NodeName, UID: nodeUID, Controller: &controller,
	}}
	return m
}
