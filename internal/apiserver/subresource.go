package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/storage"
)

func (rs *resource) serveSubresource(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	gr := rs.kind.GroupResource()
	notFound := func() {
		rs.s.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusNotFound, "", gr, "", "the server could not find the requested resource", 0, false))
	}
	switch {
	case ri.Subresource == "status" && rs.kind.HasStatus:
		switch ri.Verb {
		case "get":
			rs.get(w, r, ri)
		case "update":
			rs.update(w, r, ri, "status")
		case "patch":
			rs.patch(w, r, ri, "status")
		default:
			rs.s.writeError(w, r, apierrors.NewMethodNotSupported(gr, ri.Verb))
		}
	case ri.Subresource == "approval" && gr == csrGR:
		switch ri.Verb {
		case "get":
			rs.get(w, r, ri)
		case "update":
			rs.update(w, r, ri, "status")
		case "patch":
			rs.patch(w, r, ri, "status")
		default:
			rs.s.writeError(w, r, apierrors.NewMethodNotSupported(gr, ri.Verb))
		}
	case ri.Subresource == "scale" && rs.kind.Scale != nil:
		rs.serveScale(w, r, ri)
	case ri.Subresource == "binding" && gr == (schema.GroupResource{Resource: "pods"}) && ri.Verb == "create":
		rs.serveBinding(w, r, ri)
	case ri.Subresource == "eviction" && gr == (schema.GroupResource{Resource: "pods"}) && ri.Verb == "create":
		rs.serveEviction(w, r, ri)
	case ri.Subresource == "finalize" && gr == (schema.GroupResource{Resource: "namespaces"}) && ri.Verb == "update":
		rs.serveFinalize(w, r, ri)
	case gr == podsGR && ri.Subresource == "log":
		rs.servePodLog(w, r, ri)
	case gr == podsGR && (ri.Subresource == "exec" || ri.Subresource == "attach" || ri.Subresource == "portforward"):
		rs.servePodConnect(w, r, ri)
	case gr == nodesGR && (ri.Subresource == "proxy" || strings.HasPrefix(ri.Subresource, "proxy/")):
		rs.serveNodeProxy(w, r, ri)
	default:
		notFound()
	}
}

// scaleOf builds the Scale of an object in served form.
func (rs *resource) scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	u, err := toUnstructured(obj)
	if err != nil {
		return nil, err
	}
	sc := rs.kind.Scale
	spec, _, _ := unstructured.NestedInt64(u, strings.Split(sc.SpecReplicas, ".")...)
	status, _, _ := unstructured.NestedInt64(u, strings.Split(sc.StatusReplicas, ".")...)
	var sel string
	if sc.Selector != nil {
		sel = sc.Selector(obj)
	} else if sc.LabelSelector != "" {
		sel, _, _ = unstructured.NestedString(u, strings.Split(sc.LabelSelector, ".")...)
	}
	m, _ := meta.Accessor(obj)
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: int32(spec)},
		Status: autoscalingv1.ScaleStatus{Replicas: int32(status), Selector: sel},
	}, nil
}

func toUnstructured(obj runtime.Object) (map[string]interface{}, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.Object, nil
	}
	return runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
}

func (rs *resource) serveScale(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	switch ri.Verb {
	case "get":
		obj, err := rs.getStored(r, ri.Namespace, ri.Name, r.URL.Query().Get("resourceVersion"))
		if err == nil {
			var sc *autoscalingv1.Scale
			if sc, err = rs.scaleOf(obj); err == nil {
				rs.s.writeObject(w, r, out, http.StatusOK, sc)
				return
			}
		}
		rs.s.writeError(w, r, err)
		return
	case "update", "patch":
	default:
		rs.s.writeError(w, r, apierrors.NewMethodNotSupported(rs.kind.GroupResource(), ri.Verb))
		return
	}
	opts, err := parseWriteOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	pt := types.PatchType("")
	if ri.Verb == "patch" {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		pt = types.PatchType(mt)
	}
	var result *autoscalingv1.Scale
	updated, err := rs.updateObject(r, ri, "", opts, func(cur runtime.Object) (runtime.Object, error) {
		curServed, err := rs.fromStorage(cur)
		if err != nil {
			return nil, err
		}
		curScale, err := rs.scaleOf(curServed)
		if err != nil {
			return nil, err
		}
		want := &autoscalingv1.Scale{}
		switch pt {
		case "":
			if err := rs.s.decodeInto(r, body, autoscalingv1.SchemeGroupVersion.WithKind("Scale"), want); err != nil {
				return nil, err
			}
		default:
			curJSON, _ := json.Marshal(curScale)
			scaleRes := &resource{kind: rs.kind, s: rs.s}
			var patched []byte
			if pt == types.StrategicMergePatchType || pt == types.MergePatchType || pt == types.JSONPatchType {
				scaleRes.kind = scaleKind
				patched, err = scaleRes.applyPatch(pt, curJSON, body)
			} else {
				err = unsupportedMediaType(string(pt))
			}
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(patched, want); err != nil {
				return nil, apierrors.NewBadRequest(err.Error())
			}
		}
		if want.Name != "" && want.Name != ri.Name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", want.Name, ri.Name))
		}
		if want.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(schema.GroupKind{Group: "autoscaling", Kind: "Scale"}, ri.Name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), want.Spec.Replicas, "must be greater than or equal to 0"),
			})
		}
		if want.ResourceVersion != "" && want.ResourceVersion != curScale.ResourceVersion {
			return nil, apierrors.NewConflict(schema.GroupResource{Group: rs.kind.GVK.Group, Resource: rs.kind.Resource}, ri.Name, errors.New(conflictMessage))
		}
		u, err := toUnstructured(curServed.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		if err := unstructured.SetNestedField(u, int64(want.Spec.Replicas), strings.Split(rs.kind.Scale.SpecReplicas, ".")...); err != nil {
			return nil, err
		}
		next := rs.kind.New()
		if nu, ok := next.(*unstructured.Unstructured); ok {
			nu.Object = u
		} else if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u, next); err != nil {
			return nil, err
		}
		next.GetObjectKind().SetGroupVersionKind(rs.kind.GVK)
		return rs.prepareUpdate(cur, next, "", opts, false)
	})
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if result, err = rs.scaleOf(updated); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	rs.s.writeObject(w, r, out, http.StatusOK, result)
}

func (rs *resource) serveBinding(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	opts, err := parseWriteOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	b := &corev1.Binding{}
	if err := rs.s.decodeInto(r, body, corev1.SchemeGroupVersion.WithKind("Binding"), b); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if b.Name == "" {
		b.Name = ri.Name
	}
	if b.Name != ri.Name {
		rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", b.Name, ri.Name)))
		return
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		rs.s.writeError(w, r, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"})}))
		return
	}
	if b.Target.Name == "" {
		rs.s.writeError(w, r, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, field.ErrorList{field.Required(field.NewPath("target", "name"), "")}))
		return
	}
	_, err = rs.updateObject(r, ri, "", opts, func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.DeepCopyObject().(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, pod.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
		}
		if b.UID != "" && b.UID != pod.UID {
			return nil, apierrors.NewConflict(rs.kind.GroupResource(), pod.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, pod.Name, fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(rs.s.now().Truncate(1e9))})
		// A bound pod's nomination is stale wherever it landed
		// (upstream's ClearingNominatedNodeNameAfterBinding, on since 1.35).
		pod.Status.NominatedNodeName = ""
		return pod, nil
	})
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	rs.s.writeObject(w, r, out, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
}

func setPodCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status != c.Status {
				st.Conditions[i] = c
			}
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// serveEviction deletes a pod unless a PodDisruptionBudget forbids it.
// The disruption controller keeps status.disruptionsAllowed; the API
// server spends one disruption per eviction, as upstream does.
func (rs *resource) serveEviction(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	ev := &policyv1.Eviction{}
	if err := rs.s.decodeInto(r, body, policyv1.SchemeGroupVersion.WithKind("Eviction"), ev); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if ev.Name != "" && ev.Name != ri.Name {
		rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("name in URL does not match name in Eviction object")))
		return
	}
	obj, err := rs.getStored(r, ri.Namespace, ri.Name, "")
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	pod := obj.(*corev1.Pod)
	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	if !terminal && pod.DeletionTimestamp == nil {
		if err := rs.s.spendDisruption(r, pod); err != nil {
			rs.s.writeError(w, r, err)
			return
		}
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if _, _, err := rs.deleteObject(r, ri.Namespace, ri.Name, opts); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	rs.s.writeObject(w, r, out, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
}

var pdbGVR = schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}

func (s *Server) spendDisruption(r *http.Request, pod *corev1.Pod) error {
	pr := s.lookup(pdbGVR)
	if pr == nil {
		return nil
	}
	res, err := pr.store.List(r.Context(), pr.listPrefix(pod.Namespace), storage.ListOptions{Recursive: true})
	if err != nil {
		return toStatusError(err, pr.kind.GroupResource(), "")
	}
	var matching []*policyv1.PodDisruptionBudget
	for _, o := range res.Items {
		pdb := o.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		matching = append(matching, pdb)
	}
	if len(matching) > 1 {
		return apierrors.NewInternalError(errors.New("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	}
	if len(matching) == 0 {
		return nil
	}
	pdb := matching[0]
	tooMany := func(msg string) error {
		err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: "DisruptionBudget", Message: msg})
		return err
	}
	if pdb.Status.ObservedGeneration < pdb.Generation {
		return tooMany("the disruption budget " + pdb.Name + " is still being processed by the server")
	}
	_, err = pr.store.GuaranteedUpdate(r.Context(), pr.key(pdb.Namespace, pdb.Name), nil, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.DeepCopyObject().(*policyv1.PodDisruptionBudget)
		if p.Status.DisruptionsAllowed < 1 {
			return nil, tooMany(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", p.Name, p.Status.DesiredHealthy, p.Status.CurrentHealthy))
		}
		p.Status.DisruptionsAllowed--
		if p.Status.DisruptedPods == nil {
			p.Status.DisruptedPods = map[string]metav1.Time{}
		}
		p.Status.DisruptedPods[pod.Name] = metav1.NewTime(s.now().Truncate(1e9))
		return p, nil
	})
	if err != nil {
		return toStatusError(err, pr.kind.GroupResource(), pdb.Name)
	}
	return nil
}

// serveFinalize updates only spec.finalizers of a namespace.
func (rs *resource) serveFinalize(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	ns := &corev1.Namespace{}
	if err := rs.s.decodeInto(r, body, corev1.SchemeGroupVersion.WithKind("Namespace"), ns); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	updated, err := rs.updateObject(r, ri, "", writeOptions{}, func(cur runtime.Object) (runtime.Object, error) {
		c := cur.DeepCopyObject().(*corev1.Namespace)
		c.Spec.Finalizers = ns.Spec.Finalizers
		return c, nil
	})
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	// A terminating namespace with no finalizers left is removed.
	if n := updated.(*corev1.Namespace); n.DeletionTimestamp != nil && len(n.Spec.Finalizers) == 0 && len(n.Finalizers) == 0 {
		rv := n.ResourceVersion
		if _, err := rs.store.Delete(r.Context(), rs.key("", n.Name), &storage.Preconditions{ResourceVersion: &rv}, nil); err != nil && !isNotFound(err) {
			rs.s.writeError(w, r, toStatusError(err, rs.kind.GroupResource(), n.Name))
			return
		}
	}
	rs.s.writeObject(w, r, out, http.StatusOK, updated)
}

// scaleKind lets scale patches use the Scale type's patch strategy.
var scaleKind = &kinds.Kind{New: func() runtime.Object { return &autoscalingv1.Scale{} }}

var csrGR = schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}
