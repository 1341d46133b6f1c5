package kubernetes

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

// ConfigurationResource is Dapr's Configuration resource, whose
// spec.accessControl.trustDomain sets the trust domain of the apps that name
// it in their dapr.io/config annotation.
var ConfigurationResource = schema.GroupVersionResource{Group: "dapr.io", Version: "v1alpha1", Resource: "configurations"}

// stripConfiguration keeps of a Configuration only its name, namespace and
// spec.accessControl.trustDomain.
func stripConfiguration(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil // a tombstone: already stripped
	}
	out := &unstructured.Unstructured{Object: map[string]any{}}
	out.SetAPIVersion(u.GetAPIVersion())
	out.SetKind(u.GetKind())
	out.SetName(u.GetName())
	out.SetNamespace(u.GetNamespace())
	out.SetUID(u.GetUID())
	out.SetResourceVersion(u.GetResourceVersion())
	if td, found, err := unstructured.NestedString(u.Object, "spec", "accessControl", "trustDomain"); found && err == nil {
		_ = unstructured.SetNestedField(out.Object, td, "spec", "accessControl", "trustDomain")
	}
	return out, nil
}

// appTrustDomain is the trust domain of an app pod in namespace that names
// the Configuration config (possibly ""): the Configuration's
// spec.accessControl.trustDomain, or spiffe.DefaultTrustDomain when there
// is no annotation, no such Configuration or no trust domain in it.
func (v *Validator) appTrustDomain(namespace, config string) (spiffeid.TrustDomain, error) {
	var name string
	if config != "" {
		obj, exists, err := v.cfgInformer.GetIndexer().GetByKey(namespace + "/" + config)
		if err != nil {
			return spiffeid.TrustDomain{}, fmt.Errorf("get configuration %s/%s: %w", namespace, config, err)
		}
		if u, ok := obj.(*unstructured.Unstructured); exists && ok {
			name, _, _ = unstructured.NestedString(u.Object, "spec", "accessControl", "trustDomain")
		}
	}
	td, err := spiffe.TrustDomain(name)
	if err != nil {
		return spiffeid.TrustDomain{}, fmt.Errorf("%w: configuration %s/%s: %w", ErrTrustDomain, namespace, config, err)
	}
	return td, nil
}
