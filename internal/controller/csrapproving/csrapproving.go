package csrapproving

import (
	"context"
	"fmt"
	"log/slog"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	certinformers "k8s.io/client-go/informers/certificates/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller"
)

// Name is the controller's name in --disable-controllers.
const Name = "csrapproving"

// Descriptor returns the controller's registry entry.
func Descriptor() controller.Descriptor {
	return controller.Descriptor{Name: Name, New: func(c controller.Context) (controller.RunFunc, error) {
		ctl, err := New(Config{Client: c.Client, CSRs: csrInformer(c.Informers), Logger: c.Logger})
		if err != nil {
			return nil, err
		}
		return ctl.Run, nil
	}}
}

func csrInformer(f informers.SharedInformerFactory) certinformers.CertificateSigningRequestInformer {
	return f.Certificates().V1().CertificateSigningRequests()
}

// Config configures a Controller.
type Config struct {
	Client kubernetes.Interface
	CSRs   certinformers.CertificateSigningRequestInformer
	// Logger; nil discards.
	Logger *slog.Logger
}

// Controller approves kubelet client certificate requests.
type Controller struct {
	client kubernetes.Interface
	lister certlisters.CertificateSigningRequestLister
	log    *slog.Logger
	runner *controller.Runner
}

// New builds a Controller and registers its event handlers.
func New(cfg Config) (*Controller, error) {
	cfg.Logger = controller.LoggerOrDiscard(cfg.Logger)
	c := &Controller{client: cfg.Client, lister: cfg.CSRs.Lister(), log: cfg.Logger}
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

// Run approves until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.runner.Run(ctx, 1) }

// recognizer is one kind of request the approver knows, the permission
// its requester needs, and the approval message (upstream's wording).
type recognizer struct {
	subresource string
	message     string
	recognize   func(csr *certificatesv1.CertificateSigningRequest, cn string) bool
}

var recognizers = []recognizer{
	{
		subresource: "selfnodeclient",
		message:     "Auto approving self kubelet client certificate after SubjectAccessReview.",
		recognize:   func(csr *certificatesv1.CertificateSigningRequest, cn string) bool { return csr.Spec.Username == cn },
	},
	{
		subresource: "nodeclient",
		message:     "Auto approving kubelet client certificate after SubjectAccessReview.",
		recognize:   func(*certificatesv1.CertificateSigningRequest, string) bool { return true },
	},
}

// recognized returns the subresources whose permission would get csr
// approved, most specific first; none when csr is not a well-formed
// kubelet client certificate request.
func recognized(csr *certificatesv1.CertificateSigningRequest) []recognizer {
	if csr.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		return nil
	}
	req, err := controller.ParseCSR(csr.Spec.Request)
	if err != nil || controller.ValidateKubeletClientCSR(req, csr.Spec.Usages) != nil {
		return nil
	}
	var out []recognizer
	for _, r := range recognizers {
		if r.recognize(csr, req.Subject.CommonName) {
			out = append(out, r)
		}
	}
	return out
}

func (c *Controller) sync(ctx context.Context, key string) error {
	csr, err := c.lister.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if approved, denied, _ := controller.CSRConditions(csr); approved || denied || len(csr.Status.Certificate) > 0 {
		return nil
	}
	var tried []string
	for _, r := range recognized(csr) {
		tried = append(tried, r.subresource)
		ok, err := c.allowed(ctx, csr, r.subresource)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		csr = csr.DeepCopy()
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "AutoApproved", Message: r.message,
		})
		if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("error updating approval for csr: %w", err)
		}
		c.log.Info("Approved certificate signing request", "csr", csr.Name, "requester", csr.Spec.Username, "as", r.subresource)
		return nil
	}
	if len(tried) > 0 {
		// Not an error to retry: only a new permission would change it.
		c.log.Debug("Recognized csr but subject access review was not approved", "csr", csr.Name, "tried", tried)
	}
	return nil
}

// allowed asks the API server whether csr's requester may create
// certificatesigningrequests/<subresource>.
func (c *Controller) allowed(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, subresource string) (bool, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := c.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: csr.Spec.Username, UID: csr.Spec.UID, Groups: csr.Spec.Groups, Extra: extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Verb: "create", Subresource: subresource,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("subject access review for csr %s: %w", csr.Name, err)
	}
	return sar.Status.Allowed, nil
}
