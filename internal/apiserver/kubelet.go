package apiserver

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// KubeletClientConfig is how the API server authenticates to node agents
// (pods/log, exec, attach, portforward and nodes/proxy): a client
// certificate the agents' client CA signed. Agents' serving certificates
// are not verified, as upstream's API server does not verify them without
// --kubelet-certificate-authority.
type KubeletClientConfig struct {
	CertFile, KeyFile string
}

// defaultKubeletPort is used for nodes that do not advertise one.
const defaultKubeletPort = 10250

var (
	podsGR   = schema.GroupResource{Resource: "pods"}
	nodesGR  = schema.GroupResource{Resource: "nodes"}
	nodesGVR = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
)

// kubeletClient reaches node agents; it is nil when the server has no
// credentials for them.
type kubeletClient struct {
	tls       *tls.Config
	transport *http.Transport
	// rest carries the same credentials for client-go's SPDY executor.
	rest *rest.Config
}

func newKubeletClient(cfg *KubeletClientConfig) (*kubeletClient, error) {
	if cfg == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet client certificate: %w", err)
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		// Agents serve self-signed certificates; see KubeletClientConfig.
		InsecureSkipVerify: true, //nolint:gosec // documented above
		MinVersion:         tls.VersionTLS12,
	}
	return &kubeletClient{
		tls:       tc,
		transport: &http.Transport{TLSClientConfig: tc, Proxy: nil, MaxIdleConnsPerHost: 4},
		rest: &rest.Config{TLSClientConfig: rest.TLSClientConfig{
			Insecure: true, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile,
		}},
	}, nil
}

// kubeletURL returns the base URL of the API of the named node: its
// InternalIP (else ExternalIP, else Hostname) and advertised port.
func (s *Server) kubeletURL(r *http.Request, nodeName string) (*url.URL, error) {
	if s.kubelet == nil {
		return nil, apierrors.NewServiceUnavailable("the API server has no credentials for node agents")
	}
	nr := s.lookup(nodesGVR)
	if nr == nil {
		return nil, apierrors.NewServiceUnavailable("nodes are not served")
	}
	obj, err := nr.getStored(r, "", nodeName, "")
	if err != nil {
		return nil, err
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("node %s: unexpected type %T", nodeName, obj))
	}
	var host string
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return nil, apierrors.NewInternalError(fmt.Errorf("no preferred addresses found; known addresses: %v", node.Status.Addresses))
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port == 0 {
		port = defaultKubeletPort
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// kubeletError turns a node agent's error answer into the API error
// upstream's API server makes of it.
func kubeletError(resp *http.Response, gr schema.GroupResource, name string) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	text := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusInternalServerError:
		return apierrors.NewInternalError(fmt.Errorf("%s", text))
	case http.StatusBadRequest:
		return apierrors.NewBadRequest(text)
	}
	return apierrors.NewGenericServerResponse(resp.StatusCode, "", gr, name, text, 0, false)
}

// unreachable is the error for a node agent that could not be reached
// for a request to u, worded as upstream's API server words it.
func unreachable(method string, u *url.URL, err error) error {
	// net/http's own wording: `Get "https://…": dial tcp …`.
	op := method[:1] + strings.ToLower(method[1:])
	return apierrors.NewInternalError(fmt.Errorf("%s %q: %w", op, u.Redacted(), err))
}

// dialFailed is the error for an upgrade the node agent could not be
// reached for.
func dialFailed(err error) error {
	return apierrors.NewInternalError(fmt.Errorf("error dialing backend: %w", err))
}
