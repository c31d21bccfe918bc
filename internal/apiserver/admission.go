package apiserver

import (
	"context"
	"errors"
	"fmt"
	certificatesv1 "k8s.io/api/certificates/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/storage"
)

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// admitCreate runs the built-in admission checks on a new object in stored
// form: namespace lifecycle (the namespace must exist and not be
// terminating) and the kind-specific mutations upstream's default
// admission plugins make.
func (s *Server) admitCreate(ctx context.Context, rs *resource, obj runtime.Object) error {
	m, _ := meta.Accessor(obj)
	if rs.kind.Namespaced {
		if err := s.namespaceAllowsCreate(ctx, m.GetNamespace()); err != nil {
			if apierrors.IsForbidden(err) {
				ferr := apierrors.NewForbidden(rs.kind.GroupResource(), m.GetName(),
					fmt.Errorf("unable to create new content in namespace %s because it is being terminated", m.GetNamespace()))
				// Clients such as the namespace controller look for this cause.
				ferr.ErrStatus.Details.Causes = append(ferr.ErrStatus.Details.Causes, metav1.StatusCause{
					Type: corev1.NamespaceTerminatingCause, Message: fmt.Sprintf("namespace %s is being terminated", m.GetNamespace()), Field: "metadata.namespace",
				})
				return ferr
			}
			return err
		}
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		addDefaultTolerations(o)
		if err := s.admitPriority(ctx, o); err != nil {
			return err
		}
	case *corev1.PersistentVolumeClaim:
		if err := s.defaultStorageClass(ctx, o); err != nil {
			return err
		}
	case *certificatesv1.CertificateSigningRequest:
		// The requestor is whoever sent the request, whatever the body says.
		u := userFrom(ctx)
		o.Spec.Username, o.Spec.UID, o.Spec.Groups = u.Name, u.UID, u.Groups
		o.Spec.Extra = nil
	}
	return nil
}

// admitUpdate keeps what the server allocated when an update leaves it
// out, as upstream's service strategy does, and stamps CSR conditions.
func (s *Server) admitUpdate(_ *resource, obj, old runtime.Object) error {
	if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok {
		now := metav1.NewTime(s.now().Truncate(1e9))
		for i := range csr.Status.Conditions {
			c := &csr.Status.Conditions[i]
			if c.LastUpdateTime.IsZero() {
				c.LastUpdateTime = now
			}
			if c.LastTransitionTime.IsZero() {
				c.LastTransitionTime = now
			}
		}
		return nil
	}
	svc, ok := obj.(*corev1.Service)
	oldSvc, ok2 := old.(*corev1.Service)
	if !ok || !ok2 {
		return nil
	}
	if svc.Spec.ClusterIP == "" && svc.Spec.Type != corev1.ServiceTypeExternalName {
		svc.Spec.ClusterIP = oldSvc.Spec.ClusterIP
		svc.Spec.ClusterIPs = oldSvc.Spec.ClusterIPs
	}
	if len(svc.Spec.ClusterIPs) == 0 && svc.Spec.ClusterIP != "" {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 {
			continue
		}
		for _, op := range oldSvc.Spec.Ports {
			if op.Port == p.Port && op.Protocol == p.Protocol {
				p.NodePort = op.NodePort
			}
		}
	}
	return nil
}

func (s *Server) namespaceAllowsCreate(ctx context.Context, name string) error {
	nsr := s.lookup(namespacesGVR)
	if nsr == nil {
		return nil
	}
	obj, err := nsr.store.Get(ctx, nsr.key("", name), storage.GetOptions{ResourceVersion: "0"})
	if isNotFound(err) {
		// The cache may lag a namespace created a moment ago.
		obj, err = nsr.store.Get(ctx, nsr.key("", name), storage.GetOptions{})
	}
	if isNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
	}
	if err != nil {
		return toStatusError(err, schema.GroupResource{Resource: "namespaces"}, name)
	}
	ns, ok := obj.(*corev1.Namespace)
	if ok && (ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil) {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, name,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", name))
	}
	return nil
}

// addDefaultTolerations gives pods upstream's DefaultTolerationSeconds:
// 300 s for not-ready and unreachable nodes.
func addDefaultTolerations(pod *corev1.Pod) {
	five := int64(300)
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		has := false
		for _, t := range pod.Spec.Tolerations {
			if (t.Key == key || t.Key == "") && (t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") && (t.Operator == corev1.TolerationOpExists) {
				has = true
			}
		}
		if !has {
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
				Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &five,
			})
		}
	}
}

func namespaceHasFinalizers(obj runtime.Object) bool {
	ns, ok := obj.(*corev1.Namespace)
	return ok && len(ns.Spec.Finalizers) > 0
}

func setNamespaceTerminating(obj runtime.Object) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		ns.Status.Phase = corev1.NamespaceTerminating
	}
}

var (
	priorityClassesGVR = schema.GroupVersionResource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}
	storageClassesGVR  = schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}
)

// admitPriority resolves a pod's priority from its PriorityClass, or from
// the global default class, as upstream's Priority admission plugin does.
func (s *Server) admitPriority(ctx context.Context, pod *corev1.Pod) error {
	pr := s.lookup(priorityClassesGVR)
	if pr == nil {
		return nil
	}
	if pod.Spec.PriorityClassName == "" {
		// Upstream reads an informer, which may miss a default class made a
		// moment ago; reading our own writes keeps that case right.
		res, err := listOwnWrites(ctx, pr)
		if err != nil {
			return toStatusError(err, pr.kind.GroupResource(), "")
		}
		var def *schedulingv1.PriorityClass
		for _, o := range res.Items {
			pc := o.(*schedulingv1.PriorityClass)
			if pc.GlobalDefault && (def == nil || pc.Value < def.Value) {
				def = pc
			}
		}
		if def != nil {
			pod.Spec.PriorityClassName = def.Name
			pod.Spec.Priority = &def.Value
			pod.Spec.PreemptionPolicy = def.PreemptionPolicy
		}
		return nil
	}
	obj, err := pr.store.Get(ctx, pr.key("", pod.Spec.PriorityClassName), storage.GetOptions{ResourceVersion: "0"})
	if isNotFound(err) {
		obj, err = pr.store.Get(ctx, pr.key("", pod.Spec.PriorityClassName), storage.GetOptions{})
	}
	if isNotFound(err) {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, pod.Name,
			fmt.Errorf("no PriorityClass with name %s was found", pod.Spec.PriorityClassName))
	}
	if err != nil {
		return toStatusError(err, pr.kind.GroupResource(), pod.Spec.PriorityClassName)
	}
	pc := obj.(*schedulingv1.PriorityClass)
	pod.Spec.Priority = &pc.Value
	if pc.PreemptionPolicy != nil {
		pod.Spec.PreemptionPolicy = pc.PreemptionPolicy
	}
	return nil
}

// defaultStorageClass gives a claim without a class the default one (the
// newest class annotated as default), as upstream's DefaultStorageClass
// admission plugin does.
func (s *Server) defaultStorageClass(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	if pvc.Spec.StorageClassName != nil {
		return nil
	}
	sr := s.lookup(storageClassesGVR)
	if sr == nil {
		return nil
	}
	res, err := listOwnWrites(ctx, sr)
	if err != nil {
		return toStatusError(err, sr.kind.GroupResource(), "")
	}
	var def *storagev1.StorageClass
	for _, o := range res.Items {
		sc := o.(*storagev1.StorageClass)
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" && sc.Annotations["storageclass.beta.kubernetes.io/is-default-class"] != "true" {
			continue
		}
		if def == nil || sc.CreationTimestamp.After(def.CreationTimestamp.Time) ||
			(sc.CreationTimestamp.Equal(&def.CreationTimestamp) && sc.Name < def.Name) {
			def = sc
		}
	}
	if def != nil {
		name := def.Name
		pvc.Spec.StorageClassName = &name
	}
	return nil
}

// writeTracker is implemented by stores (the watch cache) that know the
// revision of the newest write made through them.
type writeTracker interface {
	LastWriteRevision() int64
}

// listOwnWrites lists every object of rs as the cache holds it once it
// has seen this server's own last write to rs. Admission reads small,
// rarely written resources (PriorityClasses, StorageClasses) on every pod
// or claim created; a consistent read there waits for etcd to report
// progress, which under a stream of other writes cost each create tens of
// milliseconds.
func listOwnWrites(ctx context.Context, rs *resource) (storage.ListResult, error) {
	rv := "0"
	if wt, ok := rs.store.(writeTracker); ok {
		if rev := wt.LastWriteRevision(); rev > 0 {
			rv = strconv.FormatInt(rev, 10)
		}
	}
	res, err := rs.store.List(ctx, rs.listPrefix(""), storage.ListOptions{Recursive: true, ResourceVersion: rv})
	if errors.Is(err, storage.ErrTooLarge) {
		// The cache is stuck behind (its watch is being re-established):
		// read through it.
		return rs.store.List(ctx, rs.listPrefix(""), storage.ListOptions{Recursive: true})
	}
	return res, err
}
