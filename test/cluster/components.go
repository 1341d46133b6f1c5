package cluster

import (
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Preserve is an object schema that keeps every field.
var Preserve = apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}

// DaprCRD is a minimal namespaced dapr.io/v1alpha1 CRD of kind (plural:
// kind in lower case + "s") whose top-level fields are props.
func DaprCRD(kind string, props map[string]apiextensionsv1.JSONSchemaProps) *apiextensionsv1.CustomResourceDefinition {
	singular := strings.ToLower(kind)
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: singular + "s.dapr.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "dapr.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: singular + "s", Singular: singular},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1alpha1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Properties: props,
				}},
			}},
		},
	}
}

// ComponentCRD stands in for the Component CRD that Dapr's own chart
// installs (trustplane does not ship it): the same group, version, names
// and scope, with a schema that keeps spec and takes scopes as strings.
func ComponentCRD() *apiextensionsv1.CustomResourceDefinition {
	return DaprCRD("Component", map[string]apiextensionsv1.JSONSchemaProps{
		"spec":   Preserve,
		"auth":   Preserve,
		"scopes": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}},
	})
}
