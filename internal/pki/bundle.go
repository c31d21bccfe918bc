package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// DefaultClusterDomain is the cluster DNS domain Ensure assumes when
// Options.ClusterDomain is empty.
const DefaultClusterDomain = "cluster.local"

// Subjects of the client certificates Ensure creates.
const (
	AdminUser      = "system:admin"
	ControllerUser = "system:skiff-controller"
	// KubeletClientUser is the API server's identity towards node agents
	// (upstream kubeadm's apiserver-kubelet-client certificate).
	KubeletClientUser = "kube-apiserver-kubelet-client"
	MastersGroup      = "system:masters"
)

// Names of the files Ensure keeps in its directory.
const (
	serverCAName = "server-ca"
	clientCAName = "client-ca"
	servingName  = "serving"
	adminName    = "admin"
	controlName  = "controller"
	kubeletName  = "kubelet-client"
)

// Options says what the certificates of one server must contain.
// Zero fields take the defaults documented on each.
type Options struct {
	// SANs are extra DNS names or IP literals the serving certificate must
	// cover (--tls-san). Empty strings are ignored; case does not matter.
	SANs []string
	// ClusterDomain is the cluster's DNS domain (--cluster-domain); empty
	// means DefaultClusterDomain.
	ClusterDomain string
	// ServiceIP is the first address of the service CIDR, which the
	// kubernetes Service gets; the zero Addr means 10.43.0.1, the first
	// address of the default service CIDR 10.43.0.0/16.
	ServiceIP netip.Addr
	// HostName is the host's name; empty means os.Hostname.
	HostName string
	// HostIPs are the host's addresses; nil means every address of the
	// host's interfaces except loopback and link-local ones.
	HostIPs []netip.Addr
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// complete returns opts with every default filled in.
func (opts Options) complete() (Options, error) {
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = DefaultClusterDomain
	}
	if !opts.ServiceIP.IsValid() {
		opts.ServiceIP = netip.AddrFrom4([4]byte{10, 43, 0, 1})
	}
	if opts.HostName == "" {
		h, err := hostName()
		if err != nil {
			return opts, err
		}
		opts.HostName = h
	}
	if opts.HostIPs == nil {
		ips, err := hostIPs()
		if err != nil {
			return opts, err
		}
		opts.HostIPs = ips
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}

// KeyPair names the PEM files of one certificate and its private key.
type KeyPair struct {
	CertFile string
	KeyFile  string
}

// Files lists the paths of the files a Bundle keeps in its directory.
type Files struct {
	// ServerCA and ClientCA are the CA certificates (their keys stay private
	// to this package).
	ServerCA string
	ClientCA string
	// Serving is the API server's serving certificate and key.
	Serving KeyPair
	// Admin is the CN=system:admin, O=system:masters client certificate.
	Admin KeyPair
	// Controller is the client certificate of the server's own components,
	// CN=system:skiff-controller, O=system:masters.
	Controller KeyPair
	// KubeletClient is the API server's client certificate for node
	// agents (logs, exec, attach, port-forward, nodes/proxy),
	// CN=kube-apiserver-kubelet-client, O=system:masters.
	KubeletClient KeyPair
}

// Bundle is the loaded PKI of one server. Its CAs and serving certificate
// do not change after Ensure returns; it is safe for concurrent use.
type Bundle struct {
	dir      string
	now      func() time.Time
	serverCA *pair
	clientCA *pair
	serving  tls.Certificate

	// mu serializes ClientCertFor, whose certificate and key files must
	// be written as a pair.
	mu sync.Mutex
}

// Ensure loads the PKI kept in dir, creating dir (mode 0700) and whatever is
// missing, and returns it. CAs that exist are never replaced. The serving
// certificate is reissued when it does not cover every name opts asks for,
// expires within 90 days, or does not chain to the server CA; the admin and
// controller client certificates are reissued on the same terms except the
// names. Everything else is left as it is.
//
// Ensure fails if a CA certificate exists but its key is missing, does not
// match or the CA has expired: replacing a CA would cut off every client
// that trusts it, so that is left to the operator.
func Ensure(dir string, opts Options) (*Bundle, error) {
	opts, err := opts.complete()
	if err != nil {
		return nil, fmt.Errorf("pki %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("pki %s: %w", dir, err)
	}
	b := &Bundle{dir: dir, now: opts.Now}
	if b.serverCA, err = b.ensureCA(serverCAName, "skiff-server-ca"); err != nil {
		return nil, err
	}
	if b.clientCA, err = b.ensureCA(clientCAName, "skiff-client-ca"); err != nil {
		return nil, err
	}
	if err := b.ensureServing(servingNames(opts)); err != nil {
		return nil, err
	}
	if _, err := b.ClientCertFor(adminName, AdminUser, []string{MastersGroup}); err != nil {
		return nil, err
	}
	if _, err := b.ClientCertFor(controlName, ControllerUser, []string{MastersGroup}); err != nil {
		return nil, err
	}
	if _, err := b.ClientCertFor(kubeletName, KubeletClientUser, []string{MastersGroup}); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bundle) path(name, ext string) string {
	return filepath.Join(b.dir, name+ext)
}

func (b *Bundle) keyPair(name string) KeyPair {
	return KeyPair{CertFile: b.path(name, ".crt"), KeyFile: b.path(name, ".key")}
}

// ensureCA loads the CA stored as name.crt/name.key, or creates one called
// "<prefix>@<unix time>" if its certificate does not exist.
func (b *Bundle) ensureCA(name, prefix string) (*pair, error) {
	kp := b.keyPair(name)
	_, err := os.Stat(kp.CertFile)
	if errors.Is(err, fs.ErrNotExist) {
		ca, err := newCA(prefix, b.now())
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		if err := writePair(ca, kp.CertFile, kp.KeyFile); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		return ca, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	ca, err := readPair(kp.CertFile, kp.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	if !ca.cert.IsCA {
		return nil, fmt.Errorf("load %s: %s is not a CA certificate", name, kp.CertFile)
	}
	if now := b.now(); now.After(ca.cert.NotAfter) {
		return nil, fmt.Errorf("load %s: %s expired at %s", name, kp.CertFile, ca.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return ca, nil
}

// loadLeaf returns the pair stored under name if it exists, parses, and
// passes ok; nil if it must be (re)issued; or an error the caller must not
// paper over by overwriting the files (permission denied, for instance).
func (b *Bundle) loadLeaf(name string, ok func(*pair) bool) (*pair, error) {
	kp := b.keyPair(name)
	p, err := readPair(kp.CertFile, kp.KeyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, errUnusable):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("load %s: %w", name, err)
	case !ok(p):
		return nil, nil
	}
	return p, nil
}

// ensureServing loads or (re)issues the serving certificate so that it
// covers want.
func (b *Bundle) ensureServing(want names) error {
	now := b.now()
	p, err := b.loadLeaf(servingName, func(p *pair) bool {
		return fresh(p, b.serverCA, x509.ExtKeyUsageServerAuth, now) && want.coveredBy(p.cert)
	})
	if err != nil {
		return err
	}
	if p == nil {
		p, err = issue(b.serverCA, leaf{
			cn:    "kube-apiserver",
			usage: x509.ExtKeyUsageServerAuth,
			dns:   want.dns,
			ips:   want.netIPs(),
		}, now)
		if err != nil {
			return fmt.Errorf("create %s: %w", servingName, err)
		}
		kp := b.keyPair(servingName)
		if err := writePair(p, kp.CertFile, kp.KeyFile); err != nil {
			return fmt.Errorf("create %s: %w", servingName, err)
		}
	}
	b.serving, err = tls.X509KeyPair(p.certPEM, p.keyPEM)
	if err != nil {
		return fmt.Errorf("load %s: %w", servingName, err)
	}
	return nil
}

// ServerCAPEM returns the server CA certificate in PEM form, the
// certificate-authority-data of kubeconfigs. The caller owns the slice.
func (b *Bundle) ServerCAPEM() []byte { return slices.Clone(b.serverCA.certPEM) }

// ServerCAPool returns a new pool holding the server CA, for clients that
// verify the API server.
func (b *Bundle) ServerCAPool() *x509.CertPool { return poolOf(b.serverCA) }

// ClientCAPEM returns the client CA certificate in PEM form. The caller owns
// the slice.
func (b *Bundle) ClientCAPEM() []byte { return slices.Clone(b.clientCA.certPEM) }

// ClientCAPool returns a new pool holding the client CA, for the API
// server's tls.Config.ClientCAs.
func (b *Bundle) ClientCAPool() *x509.CertPool { return poolOf(b.clientCA) }

// ServingCertificate returns the API server's certificate and key for
// tls.Config.Certificates. Its slices are shared: do not modify them.
func (b *Bundle) ServingCertificate() tls.Certificate { return b.serving }

// Files returns the paths of the files b keeps.
func (b *Bundle) Files() Files {
	return Files{
		ServerCA:   b.path(serverCAName, ".crt"),
		ClientCA:   b.path(clientCAName, ".crt"),
		Serving:    b.keyPair(servingName),
		Admin:      b.keyPair(clientFile(adminName)),
		Controller: b.keyPair(clientFile(controlName)),

		KubeletClient: b.keyPair(clientFile(kubeletName)),
	}
}

func poolOf(ca *pair) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}
