package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Agent configures `skiff agent`, a node joining a cluster.
type Agent struct {
	// Server is the API server's URL (https://host:port).
	Server string
	// Token is the join token: "K10<ca hash>::<id>.<secret>", or a bare
	// "<id>.<secret>" together with CACertHash.
	Token string
	// CACertHash pins the server CA ("sha256:<hex>") when Token has no
	// hash of its own.
	CACertHash string
	// DataDir holds DataDir/agent: credentials, containerd, pod logs,
	// images/ (default /var/lib/skiff as root, else ~/.skiff).
	DataDir string
	// NodeName names the node ("" means the host name).
	NodeName string
	// NodeIP is the node's InternalIP ("" detects it).
	NodeIP string
	// ContainerRuntimeEndpoint is an existing CRI socket
	// (unix:///path or /path) used instead of starting containerd.
	ContainerRuntimeEndpoint string
	// NodeLabels ("key=value") and NodeTaints ("key=value:Effect" or
	// "key:Effect") are set on the Node when it registers.
	NodeLabels, NodeTaints []string
	// Kubelet tunes the node (--kubelet-port, --max-pods, reservations).
	Kubelet Kubelet
	// Debug turns on debug logging.
	Debug bool
}

// DefaultAgent returns the defaults of the CLI contract.
func DefaultAgent(euid int, home string) Agent {
	dir := "/var/lib/skiff"
	if euid != 0 {
		dir = filepath.Join(home, ".skiff")
	}
	return Agent{DataDir: dir, Kubelet: DefaultKubelet()}
}

// Validate reports every invalid setting.
func (a Agent) Validate() error {
	var errs []error
	if a.Server == "" {
		errs = append(errs, errors.New("--server is required (the URL of a skiff server, e.g. https://10.0.0.1:6443)"))
	} else if u, err := url.Parse(a.Server); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("--server %q must be an https:// URL", a.Server))
	}
	if a.Token == "" {
		errs = append(errs, errors.New("--token is required (from DATA-DIR/server/token on the server, or `skiff token create`)"))
	}
	if a.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if a.NodeName != "" {
		errs = append(errs, validNodeName(a.NodeName))
	}
	if a.NodeIP != "" && net.ParseIP(a.NodeIP) == nil {
		errs = append(errs, fmt.Errorf("--node-ip %q is not an IP address", a.NodeIP))
	}
	if _, err := ParseNodeLabels(a.NodeLabels); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseNodeTaints(a.NodeTaints); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, a.Kubelet.Validate())
	return errors.Join(errs...)
}

// ParseNodeLabels parses --node-label values "key=value".
func ParseNodeLabels(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--node-label %q is not key=value", kv)
		}
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			return nil, fmt.Errorf("--node-label %q: invalid key: %s", kv, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			return nil, fmt.Errorf("--node-label %q: invalid value: %s", kv, strings.Join(msgs, "; "))
		}
		out[k] = v
	}
	return out, nil
}

// ParseNodeTaints parses --node-taint values "key=value:Effect" or
// "key:Effect", as kubelet's --register-with-taints.
func ParseNodeTaints(in []string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, s := range in {
		kv, effect, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("--node-taint %q is not key=value:Effect", s)
		}
		k, v, _ := strings.Cut(kv, "=")
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			return nil, fmt.Errorf("--node-taint %q: invalid key: %s", s, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			return nil, fmt.Errorf("--node-taint %q: invalid value: %s", s, strings.Join(msgs, "; "))
		}
		switch e := corev1.TaintEffect(effect); e {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
			out = append(out, corev1.Taint{Key: k, Value: v, Effect: e})
		default:
			return nil, fmt.Errorf("--node-taint %q: effect must be NoSchedule, PreferNoSchedule or NoExecute", s)
		}
	}
	return out, nil
}
