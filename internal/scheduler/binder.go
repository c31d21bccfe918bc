package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// binder is the DefaultBinder plugin: it posts the pods/binding
// subresource. It lives here, not under plugins/, because it does I/O.
type binder struct {
	client kubernetes.Interface
	// rest is the core/v1 REST client when the clientset has a real one
	// (fake clientsets have none).
	rest *rest.RESTClient
}

func newBinder(client kubernetes.Interface) *binder {
	b := &binder{client: client}
	if rc, ok := client.CoreV1().RESTClient().(*rest.RESTClient); ok && rc != nil {
		b.rest = rc
	}
	return b
}

func (*binder) Name() string { return DefaultBinderName }

// Bind implements framework.BindPlugin.
func (b *binder) Bind(ctx context.Context, _ *framework.CycleState, pod *v1.Pod, node string) *framework.Status {
	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}
	var err error
	if b.rest != nil {
		// The request the typed client's Bind makes with empty
		// CreateOptions (which add no query parameter), without
		// converting those options to parameters on every call.
		err = b.rest.Post().Namespace(pod.Namespace).Resource("pods").Name(pod.Name).SubResource("binding").
			Body(binding).Do(ctx).Error()
	} else {
		err = b.client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	}
	if err != nil {
		return framework.AsStatus(fmt.Errorf("bind pod %s/%s to %s: %w", pod.Namespace, pod.Name, node, err))
	}
	return nil
}

// patchCondition sets PodScheduled=False with reason and message through
// a strategic merge patch of the status (conditions merge on type), and
// status.nominatedNodeName when nominated is set ("" clears it).
func (s *Scheduler) patchCondition(ctx context.Context, pod *v1.Pod, reason, msg string, nominated *string) error {
	cond := v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: reason, Message: msg,
		LastTransitionTime: metav1.NewTime(s.clock.Now())}
	if cur := podScheduledCondition(pod); cur != nil && cur.Status == v1.ConditionFalse {
		cond.LastTransitionTime = cur.LastTransitionTime
	}
	status := map[string]any{"conditions": []v1.PodCondition{cond}}
	if nominated != nil {
		if *nominated == "" {
			status["nominatedNodeName"] = nil
		} else {
			status["nominatedNodeName"] = *nominated
		}
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}
