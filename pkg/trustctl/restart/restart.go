package restart

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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
	DaemonSet   Kind = "DaemonSet"
)

// Target names a workload.
type Target struct {
	Kind Kind
	Name string
	// Namespace is the workload's; empty means the namespace Restart and
	// Wait are given.
	Namespace string
}

// String returns "deployment/<name>" (or statefulset/, daemonset/), as
// kubectl names them, followed by " -n <namespace>" when the target has
// its own namespace.
func (t Target) String() string {
	s := strings.ToLower(string(t.Kind)) + "/" + t.Name
	if t.Namespace != "" {
		s += " -n " + t.Namespace
	}
	return s
}

// in is the target's namespace, or namespace when it has none.
func (t Target) in(namespace string) string {
	if t.Namespace != "" {
		return t.Namespace
	}
	return namespace
}

// ControlPlane is Dapr's control plane, as its Helm chart names it.
var ControlPlane = []Target{
	{Kind: Deployment, Name: "dapr-sentry"},
	{Kind: Deployment, Name: "dapr-sidecar-injector"},
	{Kind: Deployment, Name: "dapr-operator"},
	{Kind: StatefulSet, Name: "dapr-placement-server"},
	{Kind: StatefulSet, Name: "dapr-scheduler-server"},
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
		ns := t.in(namespace)
		apps := kube.AppsV1()
		switch {
		case err != nil:
			r.Err = fmt.Errorf("build patch: %w", err)
		case t.Kind == Deployment:
			var d *appsv1.Deployment
			if d, r.Err = apps.Deployments(ns).Patch(ctx, t.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); r.Err == nil {
				r.Generation = d.Generation
			}
		case t.Kind == StatefulSet:
			var s *appsv1.StatefulSet
			if s, r.Err = apps.StatefulSets(ns).Patch(ctx, t.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); r.Err == nil {
				r.Generation = s.Generation
			}
		case t.Kind == DaemonSet:
			var d *appsv1.DaemonSet
			if d, r.Err = apps.DaemonSets(ns).Patch(ctx, t.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); r.Err == nil {
				r.Generation = d.Generation
			}
		default:
			r.Err = fmt.Errorf("unknown kind %q", t.Kind)
		}
		if apierrors.IsNotFound(r.Err) {
			r.Skipped, r.Err = true, nil
		}
		if r.Err != nil {
			r.Err = fmt.Errorf("restart %s in namespace %s: %w", t, ns, r.Err)
		}
		out = append(out, r)
	}
	return out
}
