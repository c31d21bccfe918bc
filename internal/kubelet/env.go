package kubelet

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/skiff/skiff/internal/kubelet/expansion"
	"github.com/skiff/skiff/internal/kubelet/volume"
)

// reasonInvalidEnvVarNames is the event reason of envFrom keys skipped
// because they are not valid variable names (upstream's).
const reasonInvalidEnvVarNames = "InvalidEnvironmentVariableNames"

// envInputs is what a container's environment is made of besides the
// pod: the referenced objects, the services of the pod's namespace (and
// default/kubernetes), the pod's addresses and the node's allocatable
// resources (for limits a container leaves unset).
type envInputs struct {
	objects     volume.Objects
	services    []*corev1.Service
	addrs       volume.PodAddresses
	allocatable corev1.ResourceList
}

// envResult is a resolved environment, in order, with the warnings to
// record as InvalidEnvironmentVariableNames events.
type envResult struct {
	env      []corev1.EnvVar
	warnings []string
}

// containerEnv resolves container c's environment as upstream's kubelet
// does: first the envFrom sources (keys with their prefix; invalid names
// skipped with a warning), then env in order (value with $(VAR)
// references to the variables defined so far and to the service
// variables expanded, or valueFrom resolved), then the service variables
// the container does not define itself. A missing ConfigMap, Secret or
// key that is not optional is an error (the container is then not
// created: CreateContainerConfigError).
func containerEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container, in envInputs) (envResult, error) {
	var res envResult
	serviceEnv := serviceEnvVars(pod, in.services)
	vars := make(map[string]string, len(serviceEnv)) // what $(VAR) sees
	for _, e := range serviceEnv {
		vars[e.Name] = e.Value
	}
	var order []string
	values := map[string]string{}
	set := func(name, value string) {
		if _, ok := values[name]; !ok {
			order = append(order, name)
		}
		values[name] = value
		vars[name] = value
	}

	configMaps := map[string]*corev1.ConfigMap{}
	secrets := map[string]*corev1.Secret{}
	getConfigMap := func(name string) (*corev1.ConfigMap, error) {
		if cm, ok := configMaps[name]; ok {
			return cm, nil
		}
		cm, err := in.objects.ConfigMap(ctx, pod.Namespace, name)
		if err == nil {
			configMaps[name] = cm
		}
		return cm, err
	}
	getSecret := func(name string) (*corev1.Secret, error) {
		if s, ok := secrets[name]; ok {
			return s, nil
		}
		s, err := in.objects.Secret(ctx, pod.Namespace, name)
		if err == nil {
			secrets[name] = s
		}
		return s, err
	}

	for _, from := range c.EnvFrom {
		var (
			data map[string]string
			kind string
			name string
		)
		switch {
		case from.ConfigMapRef != nil:
			kind, name = "configMap", from.ConfigMapRef.Name
			cm, err := getConfigMap(name)
			if err != nil {
				if apierrors.IsNotFound(err) && from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return res, err
			}
			data = cm.Data
		case from.SecretRef != nil:
			kind, name = "secret", from.SecretRef.Name
			s, err := getSecret(name)
			if err != nil {
				if apierrors.IsNotFound(err) && from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return res, err
			}
			data = make(map[string]string, len(s.Data))
			for k, v := range s.Data {
				data[k] = string(v)
			}
		default:
			continue
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var invalid []string
		for _, k := range keys {
			nameWithPrefix := from.Prefix + k
			if errs := validation.IsEnvVarName(nameWithPrefix); len(errs) > 0 {
				invalid = append(invalid, nameWithPrefix)
				continue
			}
			set(nameWithPrefix, data[k])
		}
		if len(invalid) > 0 {
			slices.Sort(invalid)
			res.warnings = append(res.warnings, fmt.Sprintf(
				"Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
				strings.Join(invalid, ", "), kind, pod.Namespace, name))
		}
	}

	for i := range c.Env {
		e := &c.Env[i]
		if e.Value != "" || e.ValueFrom == nil {
			set(e.Name, expansion.Expand(e.Value, vars))
			continue
		}
		var v string
		switch from := e.ValueFrom; {
		case from.FieldRef != nil:
			val, err := volume.FieldValue(pod, from.FieldRef.FieldPath, in.addrs)
			if err != nil {
				return res, err
			}
			v = val
		case from.ResourceFieldRef != nil:
			target := c
			if n := from.ResourceFieldRef.ContainerName; n != "" && n != c.Name {
				if target = podContainer(pod, n); target == nil {
					return res, fmt.Errorf("container %q not found in pod", n)
				}
			}
			val, err := volume.ResourceValue(from.ResourceFieldRef, target, in.allocatable)
			if err != nil {
				return res, err
			}
			v = val
		case from.ConfigMapKeyRef != nil:
			ref := from.ConfigMapKeyRef
			optional := ref.Optional != nil && *ref.Optional
			cm, err := getConfigMap(ref.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				return res, err
			}
			val, ok := cm.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return res, fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, pod.Namespace, ref.Name)
			}
			v = val
		case from.SecretKeyRef != nil:
			ref := from.SecretKeyRef
			optional := ref.Optional != nil && *ref.Optional
			s, err := getSecret(ref.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional {
					continue
				}
				return res, err
			}
			val, ok := s.Data[ref.Key]
			if !ok {
				if optional {
					continue
				}
				return res, fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, pod.Namespace, ref.Name)
			}
			v = string(val)
		}
		set(e.Name, v)
	}

	res.env = make([]corev1.EnvVar, 0, len(order)+len(serviceEnv))
	for _, n := range order {
		res.env = append(res.env, corev1.EnvVar{Name: n, Value: values[n]})
	}
	for _, e := range serviceEnv {
		if _, ok := values[e.Name]; !ok {
			res.env = append(res.env, e)
		}
	}
	return res, nil
}

// podContainer returns the container of pod named name, init containers
// included.
func podContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// masterService is the service whose variables every pod gets, from the
// default namespace, even with enableServiceLinks false.
const masterService = "kubernetes"

// serviceEnvVars returns the Docker-links style variables of the
// services a pod sees: those of its namespace with a cluster IP when
// enableServiceLinks (default true), and default/kubernetes always. A
// service of the pod's own namespace wins over default's of the same
// name. services may hold services of any namespace.
func serviceEnvVars(pod *corev1.Pod, services []*corev1.Service) []corev1.EnvVar {
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	byName := map[string]*corev1.Service{}
	for _, s := range services {
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		switch {
		case s.Namespace == pod.Namespace && links:
			byName[s.Name] = s
		case s.Namespace == "default" && s.Name == masterService:
			if _, ok := byName[s.Name]; !ok {
				byName[s.Name] = s
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []corev1.EnvVar
	for _, n := range names {
		out = append(out, serviceVars(byName[n])...)
	}
	return out
}

// serviceVars returns one service's variables: NAME_SERVICE_HOST,
// NAME_SERVICE_PORT (first port), NAME_SERVICE_PORT_<PORTNAME> for named
// ports, and the Docker link variables NAME_PORT and
// NAME_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR].
func serviceVars(s *corev1.Service) []corev1.EnvVar {
	if len(s.Spec.Ports) == 0 {
		return nil
	}
	prefix := envVarName(s.Name)
	ip := s.Spec.ClusterIP
	out := []corev1.EnvVar{
		{Name: prefix + "_SERVICE_HOST", Value: ip},
		{Name: prefix + "_SERVICE_PORT", Value: strconv.Itoa(int(s.Spec.Ports[0].Port))},
	}
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			out = append(out, corev1.EnvVar{Name: prefix + "_SERVICE_PORT_" + envVarName(p.Name), Value: strconv.Itoa(int(p.Port))})
		}
	}
	for i, p := range s.Spec.Ports {
		proto := string(corev1.ProtocolTCP)
		if p.Protocol != "" {
			proto = string(p.Protocol)
		}
		port := strconv.Itoa(int(p.Port))
		url := strings.ToLower(proto) + "://" + net.JoinHostPort(ip, port)
		if i == 0 {
			out = append(out, corev1.EnvVar{Name: prefix + "_PORT", Value: url})
		}
		pp := prefix + "_PORT_" + port + "_" + strings.ToUpper(proto)
		out = append(out,
			corev1.EnvVar{Name: pp, Value: url},
			corev1.EnvVar{Name: pp + "_PROTO", Value: strings.ToLower(proto)},
			corev1.EnvVar{Name: pp + "_PORT", Value: port},
			corev1.EnvVar{Name: pp + "_ADDR", Value: ip},
		)
	}
	return out
}

// envVarName turns a service or port name into a variable name.
func envVarName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}

// expandArgs expands $(VAR) in each of args with env.
func expandArgs(args []string, env []corev1.EnvVar) []string {
	if len(args) == 0 {
		return nil
	}
	vars := make(map[string]string, len(env))
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = expansion.Expand(a, vars)
	}
	return out
}
