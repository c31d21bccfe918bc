// Package certificatesigningrequest is the strategy of
// certificates.k8s.io/v1 CertificateSigningRequests.
//
// Upstream serves three writable views: the main resource (spec only), the
// status subresource (status.certificate and non-approval conditions) and
// the approval subresource (Approved/Denied conditions). The Kind record
// only knows the first two, so ValidateUpdate accepts both certificate and
// approval changes; the main resource cannot reach them because the API
// server keeps the stored status there.
package certificatesigningrequest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// legacyUnknownSignerName is only tolerated on CSRs stored before v1.
const legacyUnknownSignerName = "kubernetes.io/legacy-unknown"

var validUsages = sets.New[string](
	"signing", "digital signature", "content commitment", "key encipherment",
	"key agreement", "data encipherment", "cert sign", "crl sign",
	"encipher only", "decipher only", "any", "server auth", "client auth",
	"code signing", "email protection", "s/mime", "ipsec end system",
	"ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
	"microsoft sgc", "netscape sgc",
)

// trueOnlyConditions may only have status True.
var trueOnlyConditions = sets.New[certificatesv1.RequestConditionType](
	certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed,
)

// Kind returns the CertificateSigningRequest kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"),
		Resource:   "certificatesigningrequests",
		Singular:   "certificatesigningrequest",
		ShortNames: []string{"csr"},
		HasStatus:  true,
		New:        func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} },
		NewList:    func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
		Strategy: kinds.Strategy{
			// Upstream does not care what CSRs are called.
			ValidateName: func(string, bool) []string { return nil },
			Default: func(obj runtime.Object) {
				csr := obj.(*certificatesv1.CertificateSigningRequest)
				for i := range csr.Status.Conditions {
					if csr.Status.Conditions[i].Status == "" {
						csr.Status.Conditions[i].Status = corev1.ConditionTrue
					}
				}
			},
			PrepareForUpdate: func(obj, old runtime.Object) {
				// The spec never changes after creation, on any subresource.
				obj.(*certificatesv1.CertificateSigningRequest).Spec = *old.(*certificatesv1.CertificateSigningRequest).Spec.DeepCopy()
			},
			Validate: func(obj runtime.Object) field.ErrorList {
				csr := obj.(*certificatesv1.CertificateSigningRequest)
				return validate(csr, options(csr, nil))
			},
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				csr, o := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
				opts := options(csr, o)
				opts.allowSettingCertificate = true
				opts.allowSettingApproval = true
				return validateUpdate(csr, o, opts)
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.AgeColumn,
				kinds.Column("SignerName", "string", 0, certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()["signerName"]),
				kinds.Column("Requestor", "string", 0, certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()["request"]),
				kinds.Column("RequestedDuration", "string", 0, certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()["expirationSeconds"]),
				kinds.Column("Condition", "string", 0, certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]),
			},
			Row: row,
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
			},
		},
	}
}

func row(obj runtime.Object, now time.Time) []interface{} {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	signer := "<none>"
	if csr.Spec.SignerName != "" {
		signer = csr.Spec.SignerName
	}
	requested := "<none>"
	if csr.Spec.ExpirationSeconds != nil {
		requested = duration.HumanDuration(time.Duration(*csr.Spec.ExpirationSeconds) * time.Second)
	}
	return []interface{}{csr.Name, kinds.Age(csr.CreationTimestamp, now), signer, csr.Spec.Username, requested, Condition(csr)}
}

// Condition summarises a CSR's state as kubectl shows it: Denied, Approved
// or Pending, then ",Failed" and ",Issued" when they apply.
func Condition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	s := "Pending"
	if denied {
		s = "Denied"
	} else if approved {
		s = "Approved"
	}
	if failed {
		s += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		s += ",Issued"
	}
	return s
}

// validationOptions relax checks for data stored before they existed, and
// enable the writes only certain subresources may make.
type validationOptions struct {
	allowSettingApproval        bool
	allowSettingCertificate     bool
	allowBothApprovedAndDenied  bool
	allowLegacySignerName       bool
	allowDuplicateConditionType bool
	allowEmptyConditionType     bool
	allowArbitraryCertificate   bool
	allowUnknownUsages          bool
	allowDuplicateUsages        bool
}

func options(csr, old *certificatesv1.CertificateSigningRequest) validationOptions {
	if old == nil {
		return validationOptions{}
	}
	var approved, denied, emptyType, dupType bool
	seen := map[certificatesv1.RequestConditionType]bool{}
	for _, c := range old.Status.Conditions {
		approved = approved || c.Type == certificatesv1.CertificateApproved
		denied = denied || c.Type == certificatesv1.CertificateDenied
		emptyType = emptyType || c.Type == ""
		dupType = dupType || seen[c.Type]
		seen[c.Type] = true
	}
	var unknownUsage, dupUsage bool
	seenUsage := map[certificatesv1.KeyUsage]bool{}
	for _, u := range old.Spec.Usages {
		unknownUsage = unknownUsage || !validUsages.Has(string(u))
		dupUsage = dupUsage || seenUsage[u]
		seenUsage[u] = true
	}
	return validationOptions{
		allowBothApprovedAndDenied:  approved && denied,
		allowLegacySignerName:       old.Spec.SignerName == legacyUnknownSignerName,
		allowDuplicateConditionType: dupType,
		allowEmptyConditionType:     emptyType,
		allowArbitraryCertificate:   bytes.Equal(csr.Status.Certificate, old.Status.Certificate) || validateCertificate(old.Status.Certificate) != nil,
		allowUnknownUsages:          unknownUsage,
		allowDuplicateUsages:        dupUsage,
	}
}

func parseRequest(pemBytes []byte) error {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

func validateCertificate(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	blocks := 0
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) != 0 {
			return errors.New("no PEM block headers are permitted")
		}
		blocks++
		certs, err := x509.ParseCertificates(block.Bytes)
		if err != nil {
			return err
		}
		if len(certs) == 0 {
			return errors.New("found CERTIFICATE PEM block containing 0 certificates")
		}
		data = rest
	}
	if blocks == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}

func validate(csr *certificatesv1.CertificateSigningRequest, opts validationOptions) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if err := parseRequest(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(spec.Child("request"), csr.Spec.Request, err.Error()))
	}
	usages := spec.Child("usages")
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(usages, ""))
	}
	if !opts.allowUnknownUsages {
		for i, u := range csr.Spec.Usages {
			if !validUsages.Has(string(u)) {
				errs = append(errs, field.NotSupported(usages.Index(i), u, sets.List(validUsages)))
			}
		}
	}
	if !opts.allowDuplicateUsages {
		seen := map[certificatesv1.KeyUsage]bool{}
		for i, u := range csr.Spec.Usages {
			if seen[u] {
				errs = append(errs, field.Duplicate(usages.Index(i), u))
			}
			seen[u] = true
		}
	}
	if !opts.allowLegacySignerName && csr.Spec.SignerName == legacyUnknownSignerName {
		errs = append(errs, field.Invalid(spec.Child("signerName"), csr.Spec.SignerName, "the legacy signerName is not allowed via this API version"))
	} else {
		errs = append(errs, ValidateSignerName(spec.Child("signerName"), csr.Spec.SignerName)...)
	}
	if s := csr.Spec.ExpirationSeconds; s != nil && *s < 600 {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), *s, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	errs = append(errs, validateConditions(csr, opts)...)
	if !opts.allowArbitraryCertificate {
		if err := validateCertificate(csr.Status.Certificate); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("status", "certificate"), "<certificate data>", err.Error()))
		}
	}
	return errs
}

// ValidateSignerName checks a signer name of the form
// "example.com/signer-name" with upstream's messages.
func ValidateSignerName(fldPath *field.Path, name string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	segments := strings.Split(name, "/")
	if len(segments) != 2 {
		return field.ErrorList{field.Invalid(fldPath, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	domain, path := segments[0], segments[1]
	if len(domain) > validation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(fldPath, domain, validation.DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if msgs := validation.IsDNS1123Label(l); len(msgs) > 0 {
			for _, msg := range msgs {
				errs = append(errs, field.Invalid(fldPath, domain, fmt.Sprintf("validating label %q: %s", l, msg)))
			}
			break
		}
	}
	if len(labels) < 2 {
		errs = append(errs, field.Invalid(fldPath, domain, "should be a domain with at least two segments separated by dots"))
	}
	for _, l := range strings.Split(path, ".") {
		if msgs := validation.IsDNS1123Subdomain(l); len(msgs) > 0 {
			for _, msg := range msgs {
				errs = append(errs, field.Invalid(fldPath, path, fmt.Sprintf("validating label %q: %s", l, msg)))
			}
			break
		}
	}
	maxLen := validation.DNS1123SubdomainMaxLength + validation.DNS1123SubdomainMaxLength + validation.DNS1123LabelMaxLength + 2
	if len(name) > maxLen {
		errs = append(errs, field.TooLong(fldPath, name, maxLen))
	}
	return errs
}

func validateConditions(csr *certificatesv1.CertificateSigningRequest, opts validationOptions) field.ErrorList {
	var errs field.ErrorList
	base := field.NewPath("status", "conditions")
	seen := map[certificatesv1.RequestConditionType]bool{}
	var approved, denied bool
	for i, c := range csr.Status.Conditions {
		p := base.Index(i)
		if !opts.allowEmptyConditionType && c.Type == "" {
			errs = append(errs, field.Required(p.Child("type"), ""))
		}
		allowed := []string{"False", "True", "Unknown"}
		if trueOnlyConditions.Has(c.Type) {
			allowed = []string{"True"}
		}
		switch {
		case c.Status == "":
			errs = append(errs, field.Required(p.Child("status"), ""))
		case !sets.New(allowed...).Has(string(c.Status)):
			errs = append(errs, field.NotSupported(p.Child("status"), c.Status, allowed))
		}
		if !opts.allowBothApprovedAndDenied {
			switch c.Type {
			case certificatesv1.CertificateApproved:
				approved = true
				if denied {
					errs = append(errs, field.Invalid(p.Child("type"), c.Type, "Approved and Denied conditions are mutually exclusive"))
				}
			case certificatesv1.CertificateDenied:
				denied = true
				if approved {
					errs = append(errs, field.Invalid(p.Child("type"), c.Type, "Approved and Denied conditions are mutually exclusive"))
				}
			}
		}
		if !opts.allowDuplicateConditionType {
			if seen[c.Type] {
				errs = append(errs, field.Duplicate(p.Child("type"), c.Type))
			}
			seen[c.Type] = true
		}
	}
	return errs
}

func findConditions(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

func countConditions(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) int {
	n := 0
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			n++
		}
	}
	return n
}

func validateUpdate(csr, old *certificatesv1.CertificateSigningRequest, opts validationOptions) field.ErrorList {
	errs := validate(csr, opts)
	conds := field.NewPath("status", "conditions")
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed} {
		if countConditions(csr, t) < countConditions(old, t) {
			errs = append(errs, field.Forbidden(conds, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if !opts.allowSettingApproval {
		for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
			n, o := countConditions(csr, t), countConditions(old, t)
			switch {
			case n > o:
				errs = append(errs, field.Forbidden(conds, fmt.Sprintf("updates may not add a condition of type %q", t)))
			case n == o && !apiequality.Semantic.DeepEqual(findConditions(csr, t), findConditions(old, t)):
				errs = append(errs, field.Forbidden(conds, fmt.Sprintf("updates may not modify a condition of type %q", t)))
			}
		}
	}
	if !bytes.Equal(csr.Status.Certificate, old.Status.Certificate) {
		cert := field.NewPath("status", "certificate")
		if !opts.allowSettingCertificate {
			errs = append(errs, field.Forbidden(cert, "updates may not set certificate content"))
		} else if len(old.Status.Certificate) > 0 {
			errs = append(errs, field.Forbidden(cert, "updates may not modify existing certificate content"))
		}
	}
	return errs
}
