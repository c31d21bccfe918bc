package apiserver

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Fixtures for the storage codec tests: objects that use many fields, so
// that a field one format drops shows up. Times are whole seconds (what
// metav1.Time keeps in either format), MicroTimes whole microseconds.

var (
	fixtureTime  = metav1.NewTime(time.Date(2026, 11, 22, 8, 30, 15, 0, time.UTC))
	fixtureMicro = metav1.NewMicroTime(time.Date(2026, 11, 22, 8, 30, 15, 123456000, time.UTC))
)

func ptr[T any](v T) *T { return &v }

func fixtureMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              name,
		Namespace:         "default",
		UID:               "6f1c1d9e-2b1a-4c43-9d47-0f2f0b1c7a11",
		Generation:        3,
		CreationTimestamp: fixtureTime,
		Labels:            map[string]string{"app": "web", "tier": "frontend"},
		Annotations: map[string]string{
			"deployment.kubernetes.io/revision": "2",
			"note":                              "ünïcode, \"quotes\" and\nnewlines",
		},
		Finalizers: []string{"example.com/keep"},
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f", UID: "0c6e6c34-8d0f-4b7e-a1d8-7e7f1a2b3c4d",
			Controller: ptr(true), BlockOwnerDeletion: ptr(true),
		}},
		ManagedFields: []metav1.ManagedFieldsEntry{{
			Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate,
			APIVersion: "v1", Time: &fixtureTime, FieldsType: "FieldsV1",
			FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}`)},
		}, {
			Manager: "skiff", Operation: metav1.ManagedFieldsOperationApply,
			APIVersion: "v1", Time: &fixtureTime, FieldsType: "FieldsV1", Subresource: "status",
			FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:phase":{}}}`)},
		}},
	}
}

func fixtureContainer(name string) corev1.Container {
	return corev1.Container{
		Name:       name,
		Image:      "registry.local/web:1.2.3",
		Command:    []string{"/bin/web"},
		Args:       []string{"--port=8080", "--verbose"},
		WorkingDir: "/srv",
		Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			{Name: "dns", ContainerPort: 53, HostPort: 5353, HostIP: "127.0.0.1", Protocol: corev1.ProtocolUDP},
		},
		EnvFrom: []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Optional: ptr(true)}}},
		Env: []corev1.EnvVar{
			{Name: "PLAIN", Value: "v"},
			{Name: "EMPTY"},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
				Resource: "limits.cpu", Divisor: kresource.MustParse("1m")}}},
			{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "password"}}},
		},
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: kresource.MustParse("1500m"), corev1.ResourceMemory: kresource.MustParse("1Gi")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: kresource.MustParse("250m"), corev1.ResourceMemory: kresource.MustParse("128Mi"), "example.com/gpu": kresource.MustParse("1")},
		},
		ResizePolicy: []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceCPU, RestartPolicy: corev1.NotRequired}},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "data", MountPath: "/data", SubPath: "web"},
			{Name: "cfg", MountPath: "/etc/web", ReadOnly: true, MountPropagation: ptr(corev1.MountPropagationNone)},
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP,
				HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "1"}}}},
			InitialDelaySeconds: 5, TimeoutSeconds: 2, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
			TerminationGracePeriodSeconds: ptr(int64(7)),
		},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}},
		StartupProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}},
			FailureThreshold: 30},
		Lifecycle:                &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 3}}},
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{
			Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}, Drop: []corev1.Capability{"ALL"}},
			RunAsUser:                ptr(int64(1000)),
			RunAsNonRoot:             ptr(true),
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Stdin: true, TTY: true,
	}
}

func fixturePodSpec() corev1.PodSpec {
	sidecar := fixtureContainer("sidecar")
	sidecar.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
	return corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
				Items:                []corev1.KeyToPath{{Key: "a", Path: "a.conf", Mode: ptr(int32(0o600))}},
				DefaultMode:          ptr(int32(0o644))}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
				Medium: corev1.StorageMediumMemory, SizeLimit: ptr(kresource.MustParse("64Mi"))}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log", Type: ptr(corev1.HostPathDirectory)}}},
			{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3607))}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}},
			}}}},
		},
		InitContainers:                []corev1.Container{fixtureContainer("init"), sidecar},
		Containers:                    []corev1.Container{fixtureContainer("web"), fixtureContainer("metrics")},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptr(int64(30)),
		ActiveDeadlineSeconds:         ptr(int64(600)),
		DNSPolicy:                     corev1.DNSClusterFirst,
		NodeSelector:                  map[string]string{"kubernetes.io/os": "linux"},
		ServiceAccountName:            "web",
		AutomountServiceAccountToken:  ptr(false),
		NodeName:                      "node-1",
		HostNetwork:                   false,
		ShareProcessNamespace:         ptr(true),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsUser: ptr(int64(1000)), RunAsGroup: ptr(int64(1000)), FSGroup: ptr(int64(2000)),
			SupplementalGroups: []int64{3000, 3001},
			Sysctls:            []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}},
		},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		Hostname:         "web-0",
		Subdomain:        "web",
		Affinity: &corev1.Affinity{
			NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}},
					MatchFields:      []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"node-9"}}},
				}}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 10, Preference: corev1.NodeSelectorTerm{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpExists}}}}},
			},
			PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					TopologyKey:       "kubernetes.io/hostname",
					Namespaces:        []string{"default"},
					NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpExists}}},
					MatchLabelKeys:    []string{"pod-template-hash"},
				}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 50, PodAffinityTerm: corev1.PodAffinityTerm{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "db"}}, TopologyKey: "zone"}}},
			},
		},
		SchedulerName: "default-scheduler",
		Tolerations: []corev1.Toleration{
			{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
			{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "web", Effect: corev1.TaintEffectNoSchedule},
		},
		HostAliases:       []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db.local"}}},
		PriorityClassName: "high",
		Priority:          ptr(int32(1000)),
		DNSConfig: &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"svc.local"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}}},
		ReadinessGates:     []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}},
		EnableServiceLinks: ptr(false),
		PreemptionPolicy:   ptr(corev1.PreemptLowerPriority),
		Overhead:           corev1.ResourceList{corev1.ResourceCPU: kresource.MustParse("10m")},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			MinDomains:         ptr(int32(2)),
			NodeAffinityPolicy: ptr(corev1.NodeInclusionPolicyHonor),
			NodeTaintsPolicy:   ptr(corev1.NodeInclusionPolicyIgnore),
			MatchLabelKeys:     []string{"pod-template-hash"},
		}},
		OS: &corev1.PodOS{Name: corev1.Linux},
	}
}

func fixturePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: fixtureMeta("web-0"),
		Spec:       fixturePodSpec(),
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: fixtureTime},
				{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastProbeTime: fixtureTime, LastTransitionTime: fixtureTime,
					Reason: "ContainersNotReady", Message: "containers with unready status: [web]"},
			},
			HostIP:    "192.0.2.10",
			HostIPs:   []corev1.HostIP{{IP: "192.0.2.10"}},
			PodIP:     "10.42.0.7",
			PodIPs:    []corev1.PodIP{{IP: "10.42.0.7"}, {IP: "fd00::7"}},
			StartTime: &fixtureTime,
			InitContainerStatuses: []corev1.ContainerStatus{{
				Name: "init", Image: "registry.local/web:1.2.3", ImageID: "sha256:abc", ContainerID: "containerd://1",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 0, Reason: "Completed", StartedAt: fixtureTime, FinishedAt: fixtureTime, ContainerID: "containerd://1"}},
				Ready: true,
			}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", Image: "registry.local/web:1.2.3", ImageID: "sha256:def", ContainerID: "containerd://2",
				State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: fixtureTime}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9, Reason: "OOMKilled"}},
				Ready:                false, RestartCount: 2, Started: ptr(true),
				AllocatedResources: corev1.ResourceList{corev1.ResourceCPU: kresource.MustParse("250m")},
			}},
			QOSClass: corev1.PodQOSBurstable,
		},
	}
}

func fixtureDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: fixtureMeta("web"),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(3)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"}},
				Spec:       fixturePodSpec(),
			},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr(intstr.FromString("25%")), MaxSurge: ptr(intstr.FromInt32(1))}},
			MinReadySeconds:         5,
			RevisionHistoryLimit:    ptr(int32(10)),
			ProgressDeadlineSeconds: ptr(int32(600)),
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, UnavailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue,
				LastUpdateTime: fixtureTime, LastTransitionTime: fixtureTime, Reason: "NewReplicaSetAvailable", Message: "ok"}},
			CollisionCount: ptr(int32(1)),
		},
	}
}

func fixtureSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: fixtureMeta("creds"),
		Immutable:  ptr(true),
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			"binary":   {0x00, 0xff, 0x80, 'k', '8', 's', 0x00, 0xc3, 0x28},
			"password": []byte("s3cr3t"),
			"empty":    {},
		},
	}
}

func fixtureService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: fixtureMeta("web"),
		Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{
				{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("http"), NodePort: 30080, AppProtocol: ptr("http")},
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: intstr.FromInt32(5353)},
			},
			Selector:                 map[string]string{"app": "web"},
			ClusterIP:                "10.43.0.20",
			ClusterIPs:               []string{"10.43.0.20", "fd00:43::20"},
			Type:                     corev1.ServiceTypeNodePort,
			ExternalIPs:              []string{"192.0.2.50"},
			SessionAffinity:          corev1.ServiceAffinityClientIP,
			SessionAffinityConfig:    &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(int32(10800))}},
			ExternalTrafficPolicy:    corev1.ServiceExternalTrafficPolicyLocal,
			PublishNotReadyAddresses: true,
			IPFamilies:               []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			IPFamilyPolicy:           ptr(corev1.IPFamilyPolicyPreferDualStack),
			InternalTrafficPolicy:    ptr(corev1.ServiceInternalTrafficPolicyCluster),
			TrafficDistribution:      ptr("PreferClose"),
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{
			IP: "192.0.2.60", IPMode: ptr(corev1.LoadBalancerIPModeVIP), Ports: []corev1.PortStatus{{Port: 80, Protocol: corev1.ProtocolTCP}}}}}},
	}
}

func fixtureConfigMap() *corev1.ConfigMap {
	data := map[string]string{"app.conf": "listen 8080\n", "empty": ""}
	for _, k := range []string{"k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08", "k09", "k10", "k11", "k12"} {
		data[k] = "value-" + k
	}
	return &corev1.ConfigMap{
		ObjectMeta: fixtureMeta("cfg"),
		Data:       data,
		BinaryData: map[string][]byte{"blob": {1, 2, 3, 0}},
	}
}

func fixtureEvent() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:          fixtureMeta("web-0.17a"),
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0", UID: "u", APIVersion: "v1", ResourceVersion: "12", FieldPath: "spec.containers{web}"},
		Reason:              "BackOff",
		Message:             "Back-off restarting failed container",
		Source:              corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp:      fixtureTime,
		LastTimestamp:       fixtureTime,
		Count:               4,
		Type:                corev1.EventTypeWarning,
		EventTime:           fixtureMicro,
		Series:              &corev1.EventSeries{Count: 4, LastObservedTime: fixtureMicro},
		Action:              "Restarting",
		ReportingController: "skiff/kubelet",
		ReportingInstance:   "node-1",
	}
}

func fixtureCRD() *apiextensionsv1.CustomResourceDefinition {
	min1 := 1.0
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com", UID: "crd-uid", CreationTimestamp: fixtureTime},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList", ShortNames: []string{"wd"}},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", XPreserveUnknownFields: ptr(true), Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"size":  {Type: "integer", Minimum: &min1, Default: &apiextensionsv1.JSON{Raw: []byte(`3`)}},
							"color": {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"red"`)}, {Raw: []byte(`"blue"`)}}},
						}},
					},
					XValidations: apiextensionsv1.ValidationRules{{Rule: "self.spec.size <= 10", Message: "too big"}},
				}},
				Subresources:             &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Size", Type: "integer", JSONPath: ".spec.size"}},
			}},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{
			Conditions:     []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue, LastTransitionTime: fixtureTime}},
			AcceptedNames:  apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: "Widget"},
			StoredVersions: []string{"v1"},
		},
	}
}
