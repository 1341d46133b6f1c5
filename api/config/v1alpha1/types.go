package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Configuration is Dapr's configuration resource. Sentry reads spec.mtls of
// the control-plane Configuration ("daprsystem" by default); Sentry's
// Kubernetes validator reads spec.accessControl.trustDomain of the
// Configuration an application pod names in its dapr.io/config annotation.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=configurations,scope=Namespaced
// +kubebuilder:printcolumn:name="mTLS",type=boolean,JSONPath=`.spec.mtls.enabled`,description="spec.mtls.enabled"
// +kubebuilder:printcolumn:name="Workload TTL",type=string,JSONPath=`.spec.mtls.workloadCertTTL`,description="Lifetime of workload certificates"
// +kubebuilder:printcolumn:name="Clock Skew",type=string,JSONPath=`.spec.mtls.allowedClockSkew`,description="NotBefore backdating"
// +kubebuilder:printcolumn:name="Trust Domain",type=string,JSONPath=`.spec.accessControl.trustDomain`,description="Trust domain of the applications using this Configuration"
// +kubebuilder:printcolumn:name="Control Plane TD",type=string,JSONPath=`.spec.mtls.controlPlaneTrustDomain`,priority=1,description="Trust domain of the control plane"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Configuration struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Spec is the desired configuration.
	// +optional
	Spec ConfigurationSpec `json:"spec,omitempty"`
}

// ConfigurationList is a list of Configurations.
//
// +kubebuilder:object:root=true
type ConfigurationList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the Configurations.
	Items []Configuration `json:"items"`
}

// ConfigurationSpec is the body of a Configuration. Dapr's schema has more
// sections (tracing, metric, secrets, nameResolution, api, components, ...)
// that trustplane does not read; PreserveUnknownFields keeps them stored
// when the CRD is generated from these types.
//
// +kubebuilder:pruning:PreserveUnknownFields
type ConfigurationSpec struct {
	// MTLSSpec configures Sentry and the sidecars' mTLS. Nil when the
	// object has no spec.mtls; every field then takes its default.
	// +optional
	MTLSSpec *MTLSSpec `json:"mtls,omitempty"`
	// HTTPPipelineSpec is the daprd HTTP middleware pipeline.
	// +optional
	HTTPPipelineSpec *PipelineSpec `json:"httpPipeline,omitempty"`
	// AccessControlSpec holds service-invocation access policies and the
	// application trust domain.
	// +optional
	AccessControlSpec *AccessControlSpec `json:"accessControl,omitempty"`
	// Features switches preview features on or off.
	// +optional
	Features []FeatureSpec `json:"features,omitempty"`
}

// MTLSSpec is spec.mtls: how Sentry issues workload certificates and how
// sidecars reach it. Durations are Go duration strings ("24h", "15m").
type MTLSSpec struct {
	// Enabled turns on mTLS between sidecars. Nil means true. Sentry does
	// not read it; the injector does, on every admission.
	// +kubebuilder:validation:Required
	Enabled *bool `json:"enabled"`
	// WorkloadCertTTL is the lifetime of issued workload certificates.
	// Default "24h".
	// +optional
	WorkloadCertTTL *string `json:"workloadCertTTL,omitempty"`
	// AllowedClockSkew is how far NotBefore is moved into the past, to
	// tolerate clocks that run behind. Default "15m".
	// +optional
	AllowedClockSkew *string `json:"allowedClockSkew,omitempty"`
	// ControlPlaneTrustDomain is the trust domain of the control-plane
	// services, for example "cluster.local". Dapr's CRD requires it since
	// Dapr 1.12; this one does not, so daprsystem objects written for older
	// Dapr versions still validate when they are edited.
	// +optional
	ControlPlaneTrustDomain string `json:"controlPlaneTrustDomain"`
	// SentryAddress is the host:port sidecars dial to reach Sentry, for
	// example "dapr-sentry.dapr-system.svc.cluster.local:443". Optional
	// here for the same reason as ControlPlaneTrustDomain.
	// +optional
	SentryAddress string `json:"sentryAddress"`
	// TokenValidators are the extra validators Sentry enables next to its
	// built-in one ("kubernetes" on Kubernetes, "insecure" self-hosted).
	// +optional
	TokenValidators []ValidatorSpec `json:"tokenValidators,omitempty"`
}

// ValidatorSpec is one entry of spec.mtls.tokenValidators.
type ValidatorSpec struct {
	// Name selects the validator. Only "jwks" can be configured.
	// +kubebuilder:validation:Enum=jwks
	Name string `json:"name"`
	// Options is a free-form object whose values are strings, numbers or
	// booleans; for jwks: source, caCertificate, minRefreshInterval and
	// requestTimeout.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Options *runtime.RawExtension `json:"options,omitempty"`
}

// PipelineSpec is a daprd middleware pipeline.
type PipelineSpec struct {
	// Handlers are the middleware components, in order.
	Handlers []HandlerSpec `json:"handlers"`
}

// HandlerSpec names one middleware component of a pipeline.
type HandlerSpec struct {
	// Name is the middleware component's name.
	Name string `json:"name"`
	// Type is the middleware component's type, for example
	// "middleware.http.oauth2".
	Type string `json:"type"`
	// Selector restricts the handler to matching requests.
	// +optional
	Selector *SelectorSpec `json:"selector,omitempty"`
}

// SelectorSpec selects the requests a handler applies to.
type SelectorSpec struct {
	// Fields must all match.
	Fields []SelectorField `json:"fields"`
}

// SelectorField is one field=value condition of a SelectorSpec.
type SelectorField struct {
	// Field is the request field to compare.
	Field string `json:"field"`
	// Value is the value it must have.
	Value string `json:"value"`
}

// AccessControlSpec is spec.accessControl: service-invocation policies and
// the trust domain of the applications using this Configuration.
type AccessControlSpec struct {
	// DefaultAction applies when no policy matches: "allow" or "deny".
	// Not an enum in the CRD, as in Dapr's, so no object Dapr accepts is
	// refused.
	// +optional
	DefaultAction string `json:"defaultAction,omitempty"`
	// TrustDomain is the trust domain of the applications using this
	// Configuration. Sentry puts it in their SPIFFE IDs. Default "public".
	// +optional
	TrustDomain string `json:"trustDomain,omitempty"`
	// AppPolicies are the per-caller policies.
	// +optional
	AppPolicies []AppPolicySpec `json:"policies,omitempty"`
}

// AppPolicySpec is the policy for calls from one application.
type AppPolicySpec struct {
	// AppName is the calling application's ID.
	AppName string `json:"appId"`
	// DefaultAction applies to this caller when no operation matches.
	// +optional
	DefaultAction string `json:"defaultAction,omitempty"`
	// TrustDomain is the caller's trust domain.
	// +optional
	TrustDomain string `json:"trustDomain,omitempty"`
	// Namespace is the caller's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// AppOperationActions are per-operation rules.
	// +optional
	AppOperationActions []AppOperationAction `json:"operations,omitempty"`
}

// AppOperationAction allows or denies one operation to a caller.
type AppOperationAction struct {
	// Operation is the operation path; it may end with a wildcard.
	Operation string `json:"name"`
	// HTTPVerb restricts the rule to these HTTP methods ("*" for all).
	// +optional
	HTTPVerb []string `json:"httpVerb,omitempty"`
	// Action is "allow" or "deny".
	Action string `json:"action"`
}

// FeatureSpec switches one preview feature on or off.
type FeatureSpec struct {
	// Name is the feature's name.
	Name string `json:"name"`
	// Enabled switches it on.
	Enabled bool `json:"enabled"`
}
