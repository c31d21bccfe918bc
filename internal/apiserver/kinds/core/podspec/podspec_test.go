package podspec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validSpec() corev1.PodSpec {
	s := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:          "web",
			Image:         "nginx:1.27",
			Ports:         []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
			VolumeMounts:  []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}}},
		}},
		Volumes: []corev1.Volume{{Name: "data"}},
	}
	Default(&s)
	return s
}

func TestDefault(t *testing.T) {
	s := validSpec()
	grace := int64(30)
	want := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:                     "web",
			Image:                    "nginx:1.27",
			Ports:                    []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
			VolumeMounts:             []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			ImagePullPolicy:          corev1.PullIfNotPresent,
			TerminationMessagePath:   "/dev/termination-log",
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			LivenessProbe: &corev1.Probe{
				ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080), Scheme: corev1.URISchemeHTTP}},
				TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
			},
		}},
		Volumes:                       []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		DNSPolicy:                     corev1.DNSClusterFirst,
		SchedulerName:                 "default-scheduler",
		SecurityContext:               &corev1.PodSecurityContext{},
		TerminationGracePeriodSeconds: &grace,
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Default (-want +got):\n%s", diff)
	}
}

func TestPullPolicyFor(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                           corev1.PullAlways,
		"nginx:latest":                    corev1.PullAlways,
		"nginx:1.2":                       corev1.PullIfNotPresent,
		"localhost:5000/app":              corev1.PullAlways,
		"localhost:5000/app:v1":           corev1.PullIfNotPresent,
		"app@sha256:abcd":                 corev1.PullIfNotPresent,
		"registry.io/a/b:latest@sha256:0": corev1.PullAlways,
	} {
		if got := PullPolicyFor(image); got != want {
			t.Errorf("PullPolicyFor(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestDefaultVolumeAndHostNetwork(t *testing.T) {
	s := corev1.PodSpec{
		HostNetwork: true,
		Containers:  []corev1.Container{{Name: "c", Image: "i", Ports: []corev1.ContainerPort{{ContainerPort: 53}}}},
		Volumes: []corev1.Volume{
			{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}},
			{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
		},
		DeprecatedServiceAccount: "robot",
	}
	Default(&s)
	if got := s.Containers[0].Ports[0].HostPort; got != 53 {
		t.Errorf("hostPort = %d, want 53", got)
	}
	if got := *s.Volumes[0].Secret.DefaultMode; got != 0o644 {
		t.Errorf("secret defaultMode = %o, want 644", got)
	}
	if s.Volumes[1].HostPath.Type == nil || *s.Volumes[1].HostPath.Type != "" {
		t.Errorf("hostPath type = %v, want pointer to empty", s.Volumes[1].HostPath.Type)
	}
	if s.ServiceAccountName != "robot" {
		t.Errorf("serviceAccountName = %q, want robot", s.ServiceAccountName)
	}
	if errs := Validate(&s, field.NewPath("spec")); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *corev1.PodSpec)
		want   []string
	}{
		{"valid", func(*corev1.PodSpec) {}, nil},
		{"no containers", func(s *corev1.PodSpec) { s.Containers = nil }, []string{"spec.containers: Required value"}},
		{"missing image and bad name", func(s *corev1.PodSpec) {
			s.Containers[0].Image = ""
			s.Containers[0].Name = "Web"
		}, []string{
			`spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			"spec.containers[0].image: Required value",
		}},
		{"duplicate container", func(s *corev1.PodSpec) {
			s.InitContainers = []corev1.Container{s.Containers[0]}
			s.InitContainers[0].LivenessProbe = nil
		}, []string{`spec.initContainers[0].name: Duplicate value: "web"`}},
		{"ports", func(s *corev1.PodSpec) {
			s.Containers[0].Ports = []corev1.ContainerPort{
				{ContainerPort: 0, Protocol: "tcp"},
				{Name: "http", ContainerPort: 70000, Protocol: corev1.ProtocolTCP},
				{Name: "http", ContainerPort: 81, Protocol: corev1.ProtocolTCP},
			}
		}, []string{
			"spec.containers[0].ports[0].containerPort: Required value",
			`spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"`,
			"spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
			`spec.containers[0].ports[2].name: Duplicate value: "http"`,
		}},
		{"mounts", func(s *corev1.PodSpec) {
			s.Containers[0].VolumeMounts = append(s.Containers[0].VolumeMounts,
				corev1.VolumeMount{Name: "nope", MountPath: "/data"})
		}, []string{
			`spec.containers[0].volumeMounts[1].name: Not found: "nope"`,
			`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique`,
		}},
		{"volumes", func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes,
				corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}, Secret: &corev1.SecretVolumeSource{}}},
				corev1.Volume{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			)
		}, []string{
			"spec.volumes[1].configMap: Forbidden: may not specify more than 1 volume type",
			`spec.volumes[1].name: Duplicate value: "data"`,
			"spec.volumes[2].configMap.name: Required value",
		}},
		{"resources", func(s *corev1.PodSpec) {
			s.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), "foo": resource.MustParse("1")},
			}
		}, []string{
			`spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`,
			`spec.containers[0].resources.requests[foo]: Invalid value: "foo": must be a standard resource for containers`,
		}},
		{"policies", func(s *corev1.PodSpec) {
			s.RestartPolicy = "Sometimes"
			s.DNSPolicy = ""
			s.Containers[0].ImagePullPolicy = "Maybe"
			s.ActiveDeadlineSeconds = new(int64)
		}, []string{
			`spec.containers[0].imagePullPolicy: Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"`,
			`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
			"spec.dnsPolicy: Required value",
			"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
		}},
		{"env", func(s *corev1.PodSpec) {
			s.Containers[0].Env = []corev1.EnvVar{{Name: ""}, {Name: "A=B"}, {Name: "X", ValueFrom: &corev1.EnvVarSource{}}}
		}, []string{
			"spec.containers[0].env[0].name: Required value",
			`spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
			"spec.containers[0].env[2].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
		}},
		{"init probe", func(s *corev1.PodSpec) {
			s.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File",
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}}}
		}, []string{"spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.mutate(&s)
			var got []string
			for _, e := range Validate(&s, field.NewPath("spec")) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateTemplate(t *testing.T) {
	tpl := corev1.PodTemplateSpec{Spec: validSpec()}
	tpl.Labels = map[string]string{"app": "web"}
	tpl.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"}}}
	var got []string
	for _, e := range ValidateTemplate(&tpl, field.NewPath("spec", "template")) {
		got = append(got, e.Error())
	}
	want := []string{"spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateTemplate (-want +got):\n%s", diff)
	}
}
