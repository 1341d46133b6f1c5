package server

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
)

// ComponentResource is Dapr's Component resource.
var ComponentResource = schema.GroupVersionResource{Group: "dapr.io", Version: "v1alpha1", Resource: "components"}

// componentsTimeout bounds one LIST; the API server's webhook timeout
// (10 s) bounds the whole admission.
const componentsTimeout = 3 * time.Second

// ComponentGetter lists the Component resources of a namespace with one
// LIST per call, as Dapr's injector does: it runs only for pods with
// dapr.io/inject-pluggable-components, so a cluster-wide informer would
// hold every Component of the cluster for a rare check. It needs list on
// components.dapr.io.
type ComponentGetter struct {
	// Client lists the Components.
	Client dynamic.Interface
}

// ListComponents returns the namespace's Components, in the API server's
// order (by name).
func (g ComponentGetter) ListComponents(ctx context.Context, namespace string) ([]sidecar.DeclaredComponent, error) {
	ctx, cancel := context.WithTimeout(ctx, componentsTimeout)
	defer cancel()
	list, err := g.Client.Resource(ComponentResource).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list components.dapr.io in namespace %s: %w", namespace, err)
	}
	out := make([]sidecar.DeclaredComponent, 0, len(list.Items))
	for _, u := range list.Items {
		d, err := declared(&u)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// declared reads what injection needs from a Component.
func declared(u *unstructured.Unstructured) (sidecar.DeclaredComponent, error) {
	scopes, _, err := unstructured.NestedStringSlice(u.Object, "scopes")
	if err != nil {
		return sidecar.DeclaredComponent{}, fmt.Errorf("component %s/%s: scopes: %w", u.GetNamespace(), u.GetName(), err)
	}
	return sidecar.DeclaredComponent{Name: u.GetName(), Scopes: scopes, Container: u.GetAnnotations()[a.KeyComponentContainer]}, nil
}
