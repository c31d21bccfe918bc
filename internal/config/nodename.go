package config

import (
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// NodeName returns the node name to use for flag: flag itself, or the
// host name in lower case (as upstream's kubelet does: host names may have
// capitals, Node names may not). A name that is not a DNS-1123 subdomain is
// refused here, at start, rather than by every registration attempt.
func NodeName(flag string) (string, error) {
	name := flag
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("node name: %w", err)
		}
		name = strings.ToLower(h)
	}
	if err := validNodeName(name); err != nil {
		if flag == "" {
			return "", fmt.Errorf("%w (it is the host name; pass --node-name)", err)
		}
		return "", err
	}
	return name, nil
}

func validNodeName(name string) error {
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return fmt.Errorf("--node-name %q is not a valid node name: %s", name, strings.Join(msgs, "; "))
	}
	return nil
}
