package v1alpha1

import "k8s.io/apimachinery/pkg/runtime/schema"

// Names that identify the Configuration resource.
const (
	// GroupName is the API group of Dapr's resources.
	GroupName = "dapr.io"
	// Version is the API version of the types in this package.
	Version = "v1alpha1"
	// APIVersion is the apiVersion field of a Configuration object.
	APIVersion = GroupName + "/" + Version
	// Kind is the kind field of a Configuration object.
	Kind = "Configuration"
	// ListKind is the kind field of a list of Configuration objects.
	ListKind = "ConfigurationList"
	// Resource is the plural resource name, as in configurations.dapr.io.
	Resource = "configurations"
)

// SchemeGroupVersion is the group and version of the types in this package.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: Version}

// GroupVersionKind is the group, version and kind of a Configuration.
var GroupVersionKind = SchemeGroupVersion.WithKind(Kind)

// GroupVersionResource is the group, version and resource of
// Configurations, as used by dynamic clients and informers.
var GroupVersionResource = SchemeGroupVersion.WithResource(Resource)
