package horizontalpodautoscaler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func i32(v int32) *int32 { return &v }

func newV2() *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    10,
		},
	}
	Default(h)
	return h
}

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestDefault(t *testing.T) {
	h := newV2()
	if *h.Spec.MinReplicas != 1 {
		t.Errorf("minReplicas = %d", *h.Spec.MinReplicas)
	}
	if diff := cmp.Diff([]autoscalingv2.MetricSpec{cpuMetric(80)}, h.Spec.Metrics); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(60)}}
	Default(h)
	if diff := cmp.Diff(defaultScaleUp(), h.Spec.Behavior.ScaleUp); diff != "" {
		t.Errorf("scaleUp (-want +got):\n%s", diff)
	}
	down := defaultScaleDown()
	down.StabilizationWindowSeconds = i32(60)
	if diff := cmp.Diff(down, h.Spec.Behavior.ScaleDown); diff != "" {
		t.Errorf("scaleDown (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*autoscalingv2.HorizontalPodAutoscaler)
		want   []string
	}{
		{name: "valid", modify: func(*autoscalingv2.HorizontalPodAutoscaler) {}},
		{name: "max below min", modify: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = i32(5); h.Spec.MaxReplicas = 2 },
			want: []string{"FieldValueInvalid: spec.maxReplicas"}},
		{name: "no target", modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{}
		},
			want: []string{"FieldValueRequired: spec.scaleTargetRef.kind", "FieldValueRequired: spec.scaleTargetRef.name"}},
		{name: "zero utilization", modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageUtilization = i32(0)
		},
			want: []string{"FieldValueInvalid: spec.metrics[0].resource.target.averageUtilization"}},
		{name: "pods source missing", modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Type = autoscalingv2.PodsMetricSourceType
		},
			want: []string{"FieldValueRequired: spec.metrics[0].pods"}},
		{name: "two sources", modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			q := resource.MustParse("1")
			h.Spec.Metrics[0].Pods = &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}}
		}, want: []string{"FieldValueForbidden: spec.metrics[0].pods"}},
		{name: "empty policies", modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{}}}
		}, want: []string{"FieldValueRequired: spec.behavior.scaleUp.policies"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newV2()
			tc.modify(h)
			if diff := cmp.Diff(tc.want, errPaths(Validate(h))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConversion(t *testing.T) {
	h := newV2()
	q := resource.MustParse("100")
	h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{
		Type: autoscalingv2.PodsMetricSourceType,
		Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "requests_per_second"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q},
		},
	})
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: 2, DesiredReplicas: 3,
		CurrentMetrics: []autoscalingv2.MetricStatus{{
			Type:     autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: i32(55), AverageValue: resource.NewMilliQuantity(120, resource.DecimalSI)}},
		}},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale"}},
	}
	v1 := ToV1(h)
	if v1.Spec.TargetCPUUtilizationPercentage == nil || *v1.Spec.TargetCPUUtilizationPercentage != 80 {
		t.Errorf("targetCPUUtilizationPercentage = %v", v1.Spec.TargetCPUUtilizationPercentage)
	}
	if v1.Status.CurrentCPUUtilizationPercentage == nil || *v1.Status.CurrentCPUUtilizationPercentage != 55 {
		t.Errorf("currentCPUUtilizationPercentage = %v", v1.Status.CurrentCPUUtilizationPercentage)
	}
	wantMetrics := `[{"type":"Pods","pods":{"metricName":"requests_per_second","targetAverageValue":"100"}}]`
	if got := v1.Annotations[MetricSpecsAnnotation]; got != wantMetrics {
		t.Errorf("metrics annotation = %s", got)
	}
	for _, a := range []string{MetricStatusesAnnotation, ConditionsAnnotation} {
		if v1.Annotations[a] == "" {
			t.Errorf("annotation %s missing", a)
		}
	}
	back := ToV2(v1)
	// The CPU metric comes last after a round trip, as upstream.
	wantSpec := h.Spec.DeepCopy()
	wantSpec.Metrics = []autoscalingv2.MetricSpec{h.Spec.Metrics[1], h.Spec.Metrics[0]}
	if diff := cmp.Diff(*wantSpec, back.Spec); diff != "" {
		t.Errorf("spec round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(h.Status, back.Status); diff != "" {
		t.Errorf("status round trip (-want +got):\n%s", diff)
	}
	if len(back.Annotations) != 0 {
		t.Errorf("annotations kept: %v", back.Annotations)
	}

	bare := ToV2(&autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 3}})
	if diff := cmp.Diff([]autoscalingv2.MetricSpec{cpuMetric(80)}, bare.Spec.Metrics); diff != "" {
		t.Errorf("v1 without target (-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newV2()
	h.CreationTimestamp = metav1.NewTime(now.Add(-10 * time.Minute))
	h.Status.CurrentReplicas = 2
	want := []interface{}{"web", "Deployment/web", "cpu: <unknown>/80%", "1", int64(10), int64(2), "10m"}
	if diff := cmp.Diff(want, KindV2().Strategy.Row(h, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: i32(42)}}}}
	v1 := ToV1(h)
	if got := KindV1().Strategy.Row(v1, now)[2]; got != "cpu: 42%/80%" {
		t.Errorf("v1 targets = %v", got)
	}
}
