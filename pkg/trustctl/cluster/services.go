package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ControlPlaneApps are the values of the "app" label of the control-plane
// pods that `dapr status -k` lists.
var ControlPlaneApps = []string{
	"dapr-dashboard", "dapr-operator", "dapr-placement-server", "dapr-scheduler-server", "dapr-sentry", "dapr-sidecar-injector",
}

// Service is one control-plane service, summed over its pods, as
// `dapr status -k` shows it.
type Service struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Healthy   bool      `json:"healthy"`
	Status    string    `json:"status"`
	Replicas  int       `json:"replicas"`
	Version   string    `json:"version"`
	Created   time.Time `json:"created"`
}

// ControlPlaneServices lists the control-plane pods of namespace (one LIST
// by label) and sums them per app: healthy when every pod is Running and
// ready, the status of the first pod that is not Running (else Running),
// the version from the first container's image tag, the oldest creation.
func (c *Client) ControlPlaneServices(ctx context.Context, namespace string) ([]Service, error) {
	sel := "app in (" + strings.Join(ControlPlaneApps, ",") + ")"
	pods, err := c.kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list control-plane pods: %w", err)
	}
	by := map[string]*Service{}
	for _, p := range pods.Items {
		app := p.Labels["app"]
		s, ok := by[app]
		if !ok {
			s = &Service{Name: app, Namespace: p.Namespace, Healthy: true, Status: "Running", Version: imageTag(p), Created: p.CreationTimestamp.Time}
			by[app] = s
		}
		s.Replicas++
		if p.CreationTimestamp.Time.Before(s.Created) {
			s.Created = p.CreationTimestamp.Time
		}
		if p.Status.Phase != corev1.PodRunning || !ready(p) {
			s.Healthy = false
			if s.Status == "Running" {
				s.Status = string(p.Status.Phase)
			}
		}
	}
	out := make([]Service, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func ready(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func imageTag(p corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	image := p.Spec.Containers[0].Image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return "latest"
}
