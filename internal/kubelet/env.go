package kubelet

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// containerEnv returns the container's environment in order: each
// variable's value with $(VAR) references to the variables before it
// expanded. Only plain values are supported in this slice; valueFrom
// variables are set to "" (TODO(kubelet): fieldRef, configMap, secret).
func containerEnv(c *corev1.Container) []corev1.EnvVar {
	vars := map[string]string{}
	out := make([]corev1.EnvVar, 0, len(c.Env))
	for _, e := range c.Env {
		v := expandVars(e.Value, vars)
		vars[e.Name] = v
		out = append(out, corev1.EnvVar{Name: e.Name, Value: v})
	}
	return out
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
		out[i] = expandVars(a, vars)
	}
	return out
}

// expandVars replaces $(NAME) with vars[NAME] when NAME is defined,
// leaves references to undefined names as written, and turns the escape
// $$ into a single $ (so $$(NAME) stays literally $(NAME)), as the
// Kubernetes API documents for command, args and env values.
func expandVars(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
