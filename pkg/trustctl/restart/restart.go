package restart

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// AnnotationRestartedAt is the pod template annotation kubectl sets.
const AnnotationRestartedAt = "kubectl.kubernetes.io/restartedAt"

// Kind is a restartable workload kind.
type Kind string

// The kinds Restart knows.
const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
)

// Target names a workload.
type Target struct {
	Kind Kind
	Name string
}

// String returns "deployment/<name>" or "statefulset/<name>", as kubectl
// names them.
func (t Target) String() string {
	switch t.Kind {
	case Deployment:
		return "deployment/" + t.Name
	case StatefulSet:
		return "statefulset/" + t.Name
	}
	return string(t.Kind) + "/" + t.Name
}

// ControlPlane is Dapr's control plane, as its Helm chart names it.
var ControlPlane = []Target{
	{Deployment, "dapr-sentry"},
	{Deployment, "dapr-sidecar-injector"},
	{Deployment, "dapr-operator"},
	{StatefulSet, "dapr-placement-server"},
	{StatefulSet, "dapr-scheduler-server"},
}

// Result is what happened to one target.
type Result struct {
	Target Target
	// Skipped means the workload does not exist.
	Skipped bool
	// Generation is the workload's metadata.generation after the restart:
	// its controller has seen the restart once status.observedGeneration
	// reaches it.
	Generation int64
	// Err is the failure, if any.
	Err error
}

// Restart patches the restartedAt annotation of each target in namespace
// to now (RFC 3339, as kubectl writes it), one after the other, and returns
// one Result per target.
func Restart(ctx context.Context, kube kubernetes.Interface, namespace string, targets []Target, now time.Time) []Result {
	patch, err := json.Marshal(map[string]any{
		"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{AnnotationRestartedAt: now.Format(time.RFC3339)},
		}}},
	})
	out := make([]Result, 0, len(targets))
	for _, t := range targets {
		r := Result{Target: t}
		switch {
		case err != nil:
			r.Err = fmt.Errorf("build patch: %w", err)
		case t.Kind == Deployment:
			var d *appsv1.Deployment
			if d, r.Err = kube.AppsV1().Deployments(namespace).Patch(ctx, t.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); r.Err == nil {
				r.Generation = d.Generation
			}
		case t.Kind == StatefulSet:
			var s *appsv1.StatefulSet
			if s, r.Err = kube.AppsV1().StatefulSets(namespace).Patch(ctx, t.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); r.Err == nil {
				r.Generation = s.Generation
			}
		default:
			r.Err = fmt.Errorf("unknown kind %q", t.Kind)
		}
		if apierrors.IsNotFound(r.Err) {
			r.Skipped, r.Err = true, nil
		}
		if r.Err != nil {
			r.Err = fmt.Errorf("restart %s in namespace %s: %w", t, namespace, r.Err)
		}
		out = append(out, r)
	}
	return out
}
