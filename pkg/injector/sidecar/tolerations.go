package sidecar

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// VirtualNodeTolerations are the tolerations of the virtual-node
// providers (Alibaba ECI, Azure ACI, AWS, Huawei CCI) whose nodes ignore an
// image's ENTRYPOINT: the default of Dapr's chart for
// IGNORE_ENTRYPOINT_TOLERATIONS.
const VirtualNodeTolerations = `[{"effect":"NoSchedule","key":"alibabacloud.com/eci"},` +
	`{"effect":"NoSchedule","key":"azure.com/aci"},` +
	`{"effect":"NoSchedule","key":"aws"},` +
	`{"effect":"NoSchedule","key":"huawei.com/cci"}]`

// ParseTolerations decodes a JSON array of tolerations (Dapr's
// IGNORE_ENTRYPOINT_TOLERATIONS); "" is none. Unknown fields, and an
// operator or effect Kubernetes does not know, are refused.
func ParseTolerations(raw string) ([]corev1.Toleration, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var out []corev1.Toleration
	if err := decodeJSON(raw, &out); err != nil {
		return nil, fmt.Errorf("not a JSON array of tolerations: %w", err)
	}
	for i, t := range out {
		switch t.Operator {
		case "", corev1.TolerationOpEqual, corev1.TolerationOpExists:
		default:
			return nil, fmt.Errorf("toleration %d: operator %q: use Equal or Exists", i, t.Operator)
		}
		switch t.Effect {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("toleration %d: effect %q: use NoSchedule, PreferNoSchedule or NoExecute", i, t.Effect)
		}
	}
	return out, nil
}

// ignoresEntrypoint reports whether the pod has any of tolerations (same
// key, operator, value and effect; no operator is Equal, as in
// Kubernetes): it may land on a virtual node that runs the image's command
// without its ENTRYPOINT, so daprd must be the command.
func ignoresEntrypoint(pod *corev1.Pod, tolerations []corev1.Toleration) bool {
	for _, have := range pod.Spec.Tolerations {
		have.Operator = operator(have.Operator)
		for _, want := range tolerations {
			want.Operator = operator(want.Operator)
			if have.MatchToleration(&want) {
				return true
			}
		}
	}
	return false
}

func operator(op corev1.TolerationOperator) corev1.TolerationOperator {
	if op == "" {
		return corev1.TolerationOpEqual
	}
	return op
}
