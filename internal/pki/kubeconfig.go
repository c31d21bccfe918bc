package pki

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// kubeconfigName is the name of the cluster, user and context of every
// kubeconfig this package writes.
const kubeconfigName = "default"

// Kubeconfig is what a kubeconfig written by WriteKubeconfig holds: one
// cluster, one user and one context, all named "default".
type Kubeconfig struct {
	// Server is the API server's URL, such as https://127.0.0.1:6443.
	Server string
	// CAPEM is the PEM of the CA that signed the server's certificate
	// (certificate-authority-data). Empty means the system roots.
	CAPEM []byte
	// CertPEM and KeyPEM are the user's client certificate and key
	// (client-certificate-data, client-key-data). Both or neither.
	CertPEM []byte
	KeyPEM  []byte
}

// KubeconfigFor returns a Kubeconfig for server that trusts the server CA
// and authenticates with the client certificate in kp (as returned by Files
// or ClientCertFor).
func (b *Bundle) KubeconfigFor(server string, kp KeyPair) (Kubeconfig, error) {
	p, err := readPair(kp.CertFile, kp.KeyFile)
	if err != nil {
		return Kubeconfig{}, fmt.Errorf("kubeconfig for %s: %w", kp.CertFile, err)
	}
	return Kubeconfig{Server: server, CAPEM: b.ServerCAPEM(), CertPEM: p.certPEM, KeyPEM: p.keyPEM}, nil
}

// The types below mirror the fields of client-go's clientcmd/api/v1 that
// WriteKubeconfig sets; []byte fields marshal as base64, as kubeconfig
// *-data fields are.
type (
	kubeconfigFile struct {
		APIVersion     string         `json:"apiVersion"`
		Kind           string         `json:"kind"`
		Clusters       []namedCluster `json:"clusters"`
		Users          []namedUser    `json:"users"`
		Contexts       []namedContext `json:"contexts"`
		CurrentContext string         `json:"current-context"`
		Preferences    struct{}       `json:"preferences"`
	}
	namedCluster struct {
		Name    string  `json:"name"`
		Cluster cluster `json:"cluster"`
	}
	cluster struct {
		Server                   string `json:"server"`
		CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
	}
	namedUser struct {
		Name string `json:"name"`
		User user   `json:"user"`
	}
	user struct {
		ClientCertificateData []byte `json:"client-certificate-data,omitempty"`
		ClientKeyData         []byte `json:"client-key-data,omitempty"`
	}
	namedContext struct {
		Name    string      `json:"name"`
		Context contextSpec `json:"context"`
	}
	contextSpec struct {
		Cluster string `json:"cluster"`
		User    string `json:"user"`
	}
)

// WriteKubeconfig writes kc to path as a kubeconfig (apiVersion v1, kind
// Config) whose cluster, user and context are all named "default". It
// creates path's directory if needed (mode 0700) and replaces path
// atomically, so the file ends with mode 0600 even if it existed with other
// permissions, and a reader never sees a partial file.
func WriteKubeconfig(path string, kc Kubeconfig) error {
	if kc.Server == "" {
		return fmt.Errorf("write kubeconfig %s: empty server URL", path)
	}
	if (len(kc.CertPEM) == 0) != (len(kc.KeyPEM) == 0) {
		return fmt.Errorf("write kubeconfig %s: %w", path, errors.New("client certificate and key must be given together"))
	}
	f := kubeconfigFile{
		APIVersion: "v1",
		Kind:       "Config",
		Clusters: []namedCluster{{Name: kubeconfigName, Cluster: cluster{
			Server:                   kc.Server,
			CertificateAuthorityData: kc.CAPEM,
		}}},
		Users: []namedUser{{Name: kubeconfigName, User: user{
			ClientCertificateData: kc.CertPEM,
			ClientKeyData:         kc.KeyPEM,
		}}},
		Contexts: []namedContext{{Name: kubeconfigName, Context: contextSpec{
			Cluster: kubeconfigName,
			User:    kubeconfigName,
		}}},
		CurrentContext: kubeconfigName,
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return writeFileAtomic(path, data, keyMode)
}
