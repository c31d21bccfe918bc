package kubelet

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/kubelet/volume"
)

// envObjects serves ConfigMaps and Secrets from maps, with the kubelet's
// not-found errors.
type envObjects struct {
	volume.Objects // the rest is not used by env resolution
	configMaps     map[string]*corev1.ConfigMap
	secrets        map[string]*corev1.Secret
}

func (o envObjects) ConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if cm, ok := o.configMaps[name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("configmap"), name)
}

func (o envObjects) Secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if s, ok := o.secrets[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("secret"), name)
}

func TestContainerEnv(t *testing.T) {
	t.Parallel()
	yes := true
	objs := envObjects{
		configMaps: map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"mode": "fast", "1bad": "x", "good.key": "y", "LEVEL": "3"}}},
		secrets:    map[string]*corev1.Secret{"sec": {Data: map[string][]byte{"password": []byte("hunter2"), "bad=": []byte("x")}}},
	}
	services := []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-api"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.20",
			Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "headless"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone,
			Ports: []corev1.ServicePort{{Port: 80}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.1",
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "elsewhere"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.30",
			Ports: []corev1.ServicePort{{Port: 80}}}},
	}
	kubernetesVars := []corev1.EnvVar{
		{Name: "KUBERNETES_SERVICE_HOST", Value: "10.43.0.1"},
		{Name: "KUBERNETES_SERVICE_PORT", Value: "443"},
		{Name: "KUBERNETES_SERVICE_PORT_HTTPS", Value: "443"},
		{Name: "KUBERNETES_PORT", Value: "tcp://10.43.0.1:443"},
		{Name: "KUBERNETES_PORT_443_TCP", Value: "tcp://10.43.0.1:443"},
		{Name: "KUBERNETES_PORT_443_TCP_PROTO", Value: "tcp"},
		{Name: "KUBERNETES_PORT_443_TCP_PORT", Value: "443"},
		{Name: "KUBERNETES_PORT_443_TCP_ADDR", Value: "10.43.0.1"},
	}
	webVars := []corev1.EnvVar{
		{Name: "WEB_API_SERVICE_HOST", Value: "10.43.0.20"},
		{Name: "WEB_API_SERVICE_PORT", Value: "80"},
		{Name: "WEB_API_SERVICE_PORT_DNS_UDP", Value: "53"},
		{Name: "WEB_API_PORT", Value: "tcp://10.43.0.20:80"},
		{Name: "WEB_API_PORT_80_TCP", Value: "tcp://10.43.0.20:80"},
		{Name: "WEB_API_PORT_80_TCP_PROTO", Value: "tcp"},
		{Name: "WEB_API_PORT_80_TCP_PORT", Value: "80"},
		{Name: "WEB_API_PORT_80_TCP_ADDR", Value: "10.43.0.20"},
		{Name: "WEB_API_PORT_53_UDP", Value: "udp://10.43.0.20:53"},
		{Name: "WEB_API_PORT_53_UDP_PROTO", Value: "udp"},
		{Name: "WEB_API_PORT_53_UDP_PORT", Value: "53"},
		{Name: "WEB_API_PORT_53_UDP_ADDR", Value: "10.43.0.20"},
	}
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	cmKey := func(name, cm, key string, optional bool) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: cm}, Key: key, Optional: &optional}}}
	}
	secKey := func(name, s, key string, optional bool) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: s}, Key: key, Optional: &optional}}}
	}
	no := false

	for _, tc := range []struct {
		name         string
		links        *bool
		container    corev1.Container
		want         []corev1.EnvVar
		wantWarnings []string
		wantErr      string
	}{
		{
			name: "values, expansion and service links", container: corev1.Container{Env: []corev1.EnvVar{
				{Name: "A", Value: "a"},
				{Name: "B", Value: "$(A)-$(WEB_API_SERVICE_HOST)-$(C)"},
				{Name: "C", Value: "c"},
				{Name: "WEB_API_SERVICE_PORT", Value: "8080"},
			}},
			want: append(append([]corev1.EnvVar{
				{Name: "A", Value: "a"}, {Name: "B", Value: "a-10.43.0.20-$(C)"}, {Name: "C", Value: "c"}, {Name: "WEB_API_SERVICE_PORT", Value: "8080"},
			}, kubernetesVars...), removeVar(webVars, "WEB_API_SERVICE_PORT")...),
		},
		{
			name: "enableServiceLinks false keeps kubernetes", links: &no, container: corev1.Container{},
			want: kubernetesVars,
		},
		{
			name: "fieldRef", links: &no, container: corev1.Container{Name: "app", Env: []corev1.EnvVar{
				field("NAME", "metadata.name"), field("NS", "metadata.namespace"), field("UID", "metadata.uid"),
				field("APP", "metadata.labels['app']"), field("NOTE", "metadata.annotations['note']"),
				field("NODE", "spec.nodeName"), field("SA", "spec.serviceAccountName"),
				field("HOST_IP", "status.hostIP"), field("HOST_IPS", "status.hostIPs"),
				field("POD_IP", "status.podIP"), field("POD_IPS", "status.podIPs"),
			}},
			want: append([]corev1.EnvVar{
				{Name: "NAME", Value: "web"}, {Name: "NS", Value: "ns"}, {Name: "UID", Value: "u1"},
				{Name: "APP", Value: "web"}, {Name: "NOTE", Value: "hi"},
				{Name: "NODE", Value: "n1"}, {Name: "SA", Value: "builder"},
				{Name: "HOST_IP", Value: "192.168.1.2"}, {Name: "HOST_IPS", Value: "192.168.1.2"},
				{Name: "POD_IP", Value: "10.42.0.7"}, {Name: "POD_IPS", Value: "10.42.0.7,fd00::7"},
			}, kubernetesVars...),
		},
		{
			name: "resourceFieldRef", links: &no, container: corev1.Container{Name: "app",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}},
				Env: []corev1.EnvVar{
					{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
					{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
					{Name: "SIDECAR_MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "sidecar", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
				}},
			want: append([]corev1.EnvVar{{Name: "MEM", Value: "128"}, {Name: "CPU", Value: "2"}, {Name: "SIDECAR_MEM", Value: "1024"}}, kubernetesVars...),
		},
		{
			name: "configMap and secret keys", links: &no, container: corev1.Container{Env: []corev1.EnvVar{
				cmKey("MODE", "cfg", "mode", false), secKey("PW", "sec", "password", false),
				cmKey("OPT1", "nope", "x", true), cmKey("OPT2", "cfg", "nokey", true), secKey("OPT3", "nope", "x", true),
			}},
			want: append([]corev1.EnvVar{{Name: "MODE", Value: "fast"}, {Name: "PW", Value: "hunter2"}}, kubernetesVars...),
		},
		{
			name: "missing configMap", links: &no, container: corev1.Container{Env: []corev1.EnvVar{cmKey("X", "nope", "x", false)}},
			wantErr: `configmap "nope" not found`,
		},
		{
			name: "missing configMap key", links: &no, container: corev1.Container{Env: []corev1.EnvVar{cmKey("X", "cfg", "nokey", false)}},
			wantErr: `couldn't find key nokey in ConfigMap ns/cfg`,
		},
		{
			name: "missing secret", links: &no, container: corev1.Container{Env: []corev1.EnvVar{secKey("X", "nope", "x", false)}},
			wantErr: `secret "nope" not found`,
		},
		{
			name: "missing secret key", links: &no, container: corev1.Container{Env: []corev1.EnvVar{secKey("X", "sec", "nokey", false)}},
			wantErr: `couldn't find key nokey in Secret ns/sec`,
		},
		{
			name: "envFrom with prefix and invalid keys", links: &no, container: corev1.Container{
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
					{Prefix: "S_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}}},
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: &yes}},
				},
				Env: []corev1.EnvVar{{Name: "mode", Value: "slow-$(LEVEL)"}},
			},
			want: append([]corev1.EnvVar{
				{Name: "LEVEL", Value: "3"}, {Name: "good.key", Value: "y"}, {Name: "mode", Value: "slow-3"},
				{Name: "S_password", Value: "hunter2"},
			}, kubernetesVars...),
			wantWarnings: []string{
				"Keys [1bad] from the EnvFrom configMap ns/cfg were skipped since they are considered invalid environment variable names.",
				"Keys [S_bad=] from the EnvFrom secret ns/sec were skipped since they are considered invalid environment variable names.",
			},
		},
		{
			name: "envFrom missing", links: &no, container: corev1.Container{EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}}}},
			wantErr: `secret "nope" not found`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u1",
					Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"note": "hi"}},
				Spec: corev1.PodSpec{NodeName: "n1", ServiceAccountName: "builder", EnableServiceLinks: tc.links,
					Containers: []corev1.Container{tc.container, {Name: "sidecar"}}},
			}
			res, err := containerEnv(context.Background(), pod, &pod.Spec.Containers[0], envInputs{
				objects:  objs,
				services: services,
				addrs:    volume.PodAddresses{PodIPs: []string{"10.42.0.7", "fd00::7"}, HostIPs: []string{"192.168.1.2"}},
				allocatable: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi"),
				},
			})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWarnings, res.warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func removeVar(vars []corev1.EnvVar, name string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, v := range vars {
		if v.Name != name {
			out = append(out, v)
		}
	}
	return out
}
