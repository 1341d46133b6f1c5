package restart

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
)

// DaprApps lists, in every namespace, the Deployments, StatefulSets and
// DaemonSets whose pods run daprd: their pod template is annotated
// dapr.io/enabled with a truthy value, as the injector reads it. They are
// sorted by namespace, kind and name. It needs list on the three kinds in
// all namespaces.
func DaprApps(ctx context.Context, kube kubernetes.Interface) ([]Target, error) {
	var out []Target
	add := func(kind Kind, meta metav1.ObjectMeta, tmpl corev1.PodTemplateSpec) {
		if a.Of(tmpl.Annotations).Bool(a.KeyEnabled, false) {
			out = append(out, Target{Kind: kind, Name: meta.Name, Namespace: meta.Namespace})
		}
	}
	apps := kube.AppsV1()
	ds, err := apps.Deployments(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	for _, d := range ds.Items {
		add(Deployment, d.ObjectMeta, d.Spec.Template)
	}
	ss, err := apps.StatefulSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list statefulsets: %w", err)
	}
	for _, s := range ss.Items {
		add(StatefulSet, s.ObjectMeta, s.Spec.Template)
	}
	dss, err := apps.DaemonSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list daemonsets: %w", err)
	}
	for _, d := range dss.Items {
		add(DaemonSet, d.ObjectMeta, d.Spec.Template)
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.Name < y.Name
	})
	return out, nil
}
