package podspec

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DefaultTerminationGracePeriodSeconds is the pod grace period when none is set.
const DefaultTerminationGracePeriodSeconds int64 = 30

// defaultMode is 0644, the mode of files projected from secrets, config maps
// and the downward API when none is given.
const defaultMode int32 = 0o644

// DefaultTemplate applies Default to a pod template's spec. Template
// metadata has no defaults.
func DefaultTemplate(t *corev1.PodTemplateSpec) {
	if t == nil {
		return
	}
	Default(&t.Spec)
}

// Default sets the fields upstream defaults in every core/v1 PodSpec,
// whether in a Pod or in a template: restartPolicy Always, dnsPolicy
// ClusterFirst, schedulerName default-scheduler, terminationGracePeriodSeconds
// 30, an empty securityContext, the container, probe and volume defaults,
// and hostPort = containerPort under hostNetwork. It is idempotent.
func Default(spec *corev1.PodSpec) {
	if spec == nil {
		return
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		p := DefaultTerminationGracePeriodSeconds
		spec.TerminationGracePeriodSeconds = &p
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	// serviceAccount is the deprecated alias of serviceAccountName; the
	// versioned API keeps both in step, the new name winning.
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName
	if spec.HostNetwork {
		defaultHostNetworkPorts(spec.Containers)
		defaultHostNetworkPorts(spec.InitContainers)
	}
	for i := range spec.Volumes {
		DefaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		DefaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		DefaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		DefaultEphemeralContainer(&spec.EphemeralContainers[i])
	}
	DefaultResourceList(spec.Overhead)
	if spec.Resources != nil {
		DefaultResourceList(spec.Resources.Limits)
		DefaultResourceList(spec.Resources.Requests)
	}
}

func defaultHostNetworkPorts(containers []corev1.Container) {
	for i := range containers {
		for j := range containers[i].Ports {
			if containers[i].Ports[j].HostPort == 0 {
				containers[i].Ports[j].HostPort = containers[i].Ports[j].ContainerPort
			}
		}
	}
}

// DefaultContainer sets a container's defaults: imagePullPolicy (Always for
// a ":latest" or untagged image, else IfNotPresent), terminationMessagePath
// /dev/termination-log, terminationMessagePolicy File, port protocol TCP,
// fieldRef apiVersion v1, probe and handler defaults, and resource rounding.
func DefaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = PullPolicyFor(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	defaultEnv(c.Env)
	DefaultResourceList(c.Resources.Limits)
	DefaultResourceList(c.Resources.Requests)
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	defaultLifecycle(c.Lifecycle)
}

// DefaultEphemeralContainer applies the container defaults to an
// ephemeral container.
func DefaultEphemeralContainer(c *corev1.EphemeralContainer) {
	cc := corev1.Container(c.EphemeralContainerCommon)
	DefaultContainer(&cc)
	c.EphemeralContainerCommon = corev1.EphemeralContainerCommon(cc)
}

// PullPolicyFor returns the default imagePullPolicy of an image reference:
// Always when the tag is "latest" or there is neither tag nor digest,
// IfNotPresent otherwise.
func PullPolicyFor(image string) corev1.PullPolicy {
	ref, digest, _ := strings.Cut(image, "@")
	tag := ""
	last := ref[strings.LastIndex(ref, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		tag = last[i+1:]
	}
	if tag == "latest" || (tag == "" && digest == "") {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

func defaultEnv(env []corev1.EnvVar) {
	for i := range env {
		if vf := env[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
}

// DefaultResourceList rounds every quantity up to a whole milli-unit, as
// upstream does, so that "0.0001" cpu is stored as "1m".
func DefaultResourceList(rl corev1.ResourceList) {
	for name, q := range rl {
		q.RoundUp(-3)
		rl[name] = q
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		s := ""
		p.GRPC.Service = &s
	}
}

func defaultLifecycle(l *corev1.Lifecycle) {
	if l == nil {
		return
	}
	for _, h := range []*corev1.LifecycleHandler{l.PostStart, l.PreStop} {
		if h != nil {
			defaultHTTPGet(h.HTTPGet)
		}
	}
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

// DefaultVolume sets a pod volume's defaults: an emptyDir when no source is
// given, defaultMode 0644 on secret, configMap, downwardAPI and projected
// sources, the unset hostPath type, token expiry 3600s, and the defaults of
// the in-tree plugin sources.
func DefaultVolume(v *corev1.Volume) {
	s := &v.VolumeSource
	if isEmptySource(s) {
		s.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if s.Secret != nil && s.Secret.DefaultMode == nil {
		s.Secret.DefaultMode = ptr(defaultMode)
	}
	if s.ConfigMap != nil && s.ConfigMap.DefaultMode == nil {
		s.ConfigMap.DefaultMode = ptr(defaultMode)
	}
	if s.DownwardAPI != nil {
		if s.DownwardAPI.DefaultMode == nil {
			s.DownwardAPI.DefaultMode = ptr(defaultMode)
		}
		defaultDownwardAPIItems(s.DownwardAPI.Items)
	}
	if s.Projected != nil {
		if s.Projected.DefaultMode == nil {
			s.Projected.DefaultMode = ptr(defaultMode)
		}
		for i := range s.Projected.Sources {
			src := &s.Projected.Sources[i]
			if src.DownwardAPI != nil {
				defaultDownwardAPIItems(src.DownwardAPI.Items)
			}
			if src.ServiceAccountToken != nil && src.ServiceAccountToken.ExpirationSeconds == nil {
				src.ServiceAccountToken.ExpirationSeconds = ptr(int64(3600))
			}
		}
	}
	if s.HostPath != nil && s.HostPath.Type == nil {
		s.HostPath.Type = ptr(corev1.HostPathUnset)
	}
	if s.ISCSI != nil && s.ISCSI.ISCSIInterface == "" {
		s.ISCSI.ISCSIInterface = "default"
	}
	if s.RBD != nil {
		if s.RBD.RBDPool == "" {
			s.RBD.RBDPool = "rbd"
		}
		if s.RBD.RadosUser == "" {
			s.RBD.RadosUser = "admin"
		}
		if s.RBD.Keyring == "" {
			s.RBD.Keyring = "/etc/ceph/keyring"
		}
	}
	if s.AzureDisk != nil {
		if s.AzureDisk.CachingMode == nil {
			s.AzureDisk.CachingMode = ptr(corev1.AzureDataDiskCachingReadWrite)
		}
		if s.AzureDisk.FSType == nil {
			s.AzureDisk.FSType = ptr("ext4")
		}
		if s.AzureDisk.ReadOnly == nil {
			s.AzureDisk.ReadOnly = ptr(false)
		}
		if s.AzureDisk.Kind == nil {
			s.AzureDisk.Kind = ptr(corev1.AzureSharedBlobDisk)
		}
	}
	if s.ScaleIO != nil {
		if s.ScaleIO.StorageMode == "" {
			s.ScaleIO.StorageMode = "ThinProvisioned"
		}
		if s.ScaleIO.FSType == "" {
			s.ScaleIO.FSType = "xfs"
		}
	}
	if s.Ephemeral != nil && s.Ephemeral.VolumeClaimTemplate != nil {
		DefaultPersistentVolumeClaimSpec(&s.Ephemeral.VolumeClaimTemplate.Spec)
	}
}

// DefaultPersistentVolumeClaimSpec sets volumeMode Filesystem and rounds
// the resource quantities; StatefulSet volumeClaimTemplates and ephemeral
// volumes use it as well as PersistentVolumeClaims.
func DefaultPersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec) {
	if spec.VolumeMode == nil {
		spec.VolumeMode = ptr(corev1.PersistentVolumeFilesystem)
	}
	DefaultResourceList(spec.Resources.Limits)
	DefaultResourceList(spec.Resources.Requests)
}

func defaultDownwardAPIItems(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if f := items[i].FieldRef; f != nil && f.APIVersion == "" {
			f.APIVersion = "v1"
		}
	}
}

func isEmptySource(s *corev1.VolumeSource) bool {
	return *s == corev1.VolumeSource{}
}

func ptr[T any](v T) *T { return &v }
