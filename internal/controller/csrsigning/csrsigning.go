package csrsigning

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certinformers "k8s.io/client-go/informers/certificates/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers.
const Name = "csrsigning"

// DefaultDuration is the longest certificate the signer issues
// (upstream's --cluster-signing-duration default, one year).
const DefaultDuration = 365 * 24 * time.Hour

// minDuration is the shortest: twice the signer's backdate, as upstream.
const minDuration = 10 * time.Minute

// SignFunc signs the checked request csr for validity with the given
// usages and returns the PEM certificate.
type SignFunc func(csr *x509.CertificateRequest, keyUsage x509.KeyUsage, ext []x509.ExtKeyUsage, validity time.Duration) ([]byte, error)

// Descriptor returns the controller's registry entry.
func Descriptor(sign SignFunc) controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(c controller.Context) (controller.RunFunc, error) {
		ctl, err := New(Config{Client: c.Client, CSRs: c.Informers.Certificates().V1().CertificateSigningRequests(), Sign: sign, Logger: c.Logger})
		if err != nil {
			return nil, err
		}
		return ctl.Run, nil
	}}
}

// Config configures a Controller.
type Config struct {
	Client kubernetes.Interface
	CSRs   certinformers.CertificateSigningRequestInformer
	// Sign signs with the client CA (required).
	Sign SignFunc
	// MaxDuration caps certificates (default DefaultDuration).
	MaxDuration time.Duration
	// Now defaults to time.Now; it stamps Failed conditions.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller signs approved CSRs.
type Controller struct {
	client kubernetes.Interface
	lister certlisters.CertificateSigningRequestLister
	sign   SignFunc
	max    time.Duration
	now    func() time.Time
	runner *controller.Runner
}

// New builds a Controller and registers its event handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Sign == nil {
		return nil, errors.New("csrsigning: Sign is required")
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = DefaultDuration
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Controller{client: cfg.Client, lister: cfg.CSRs.Lister(), sign: cfg.Sign, max: cfg.MaxDuration, now: cfg.Now}
	inf := cfg.CSRs.Informer()
	c.runner = controller.NewRunner(controller.RunnerConfig{Name: Name, Sync: c.sync, Synced: []cache.InformerSynced{inf.HasSynced}, Logger: cfg.Logger})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.runner.EnqueueObject,
		UpdateFunc: func(_, obj any) { c.runner.EnqueueObject(obj) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run signs until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.runner.Run(ctx, 1) }

func (c *Controller) sync(ctx context.Context, key string) error {
	csr, err := c.lister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	approved, denied, failed := controller.CSRConditions(csr)
	if !approved || denied || failed || len(csr.Status.Certificate) > 0 {
		return nil
	}
	validate, ok := signers[csr.Spec.SignerName]
	if !ok {
		return nil
	}
	req, err := controller.ParseCSR(csr.Spec.Request)
	if err != nil {
		return fmt.Errorf("unable to parse csr %q: %w", csr.Name, err)
	}
	csr = csr.DeepCopy()
	ku, ext, verr := validate(req, csr.Spec.Usages)
	if verr != nil {
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue,
			Reason: "SignerValidationFailure", Message: verr.Error(), LastUpdateTime: metav1.NewTime(c.now()),
		})
		if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("error adding failure condition for csr: %w", err)
		}
		return nil
	}
	cert, err := c.sign(req, ku, ext, Duration(c.max, csr.Spec.ExpirationSeconds))
	if err != nil {
		return fmt.Errorf("error auto signing csr: %w", err)
	}
	csr.Status.Certificate = cert
	if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("error updating signature for csr: %w", err)
	}
	return nil
}

// Duration is how long a certificate lasts: the requested
// expirationSeconds within [10m, max], else max.
func Duration(max time.Duration, expirationSeconds *int32) time.Duration {
	if expirationSeconds == nil {
		return max
	}
	d := time.Duration(*expirationSeconds) * time.Second
	switch {
	case d > max:
		return max
	case d < minDuration:
		return minDuration
	}
	return d
}

// validator checks a request for one signer and maps its usages.
type validator func(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage, error)

// signers maps the signer names this controller serves to their rules.
var signers = map[string]validator{
	certificatesv1.KubeAPIServerClientKubeletSignerName: func(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
		if err := controller.ValidateKubeletClientCSR(req, usages); err != nil {
			return 0, nil, err
		}
		return clientUsages(usages)
	},
	certificatesv1.KubeAPIServerClientSignerName: func(_ *x509.CertificateRequest, usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
		return clientUsages(usages)
	},
}

// clientUsages accepts the usages of a client certificate ("client auth",
// optionally "digital signature" and "key encipherment") and maps them to
// x509's, with upstream's messages.
func clientUsages(usages []certificatesv1.KeyUsage) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var ku x509.KeyUsage
	client := false
	for _, u := range usages {
		switch u {
		case certificatesv1.UsageDigitalSignature:
			ku |= x509.KeyUsageDigitalSignature
		case certificatesv1.UsageKeyEncipherment:
			ku |= x509.KeyUsageKeyEncipherment
		case certificatesv1.UsageClientAuth:
			client = true
		default:
			return 0, nil, fmt.Errorf("invalid usage for client certificate: %s", u)
		}
	}
	if !client {
		return 0, nil, fmt.Errorf("missing required usage for client certificate: %s", certificatesv1.UsageClientAuth)
	}
	return ku, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil
}
