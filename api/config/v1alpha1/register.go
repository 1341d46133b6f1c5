package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// SchemeBuilder registers Configuration and ConfigurationList, with the
// meta/v1 options types of the group version, in a runtime.Scheme.
var SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

// AddToScheme adds this package's types to a scheme, for example:
//
//	scheme := runtime.NewScheme()
//	if err := v1alpha1.AddToScheme(scheme); err != nil { ... }
var AddToScheme = SchemeBuilder.AddToScheme

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &Configuration{}, &ConfigurationList{})
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
