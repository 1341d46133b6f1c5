package v1alpha1

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// crdFile is the CRD controller-gen writes from this package.
var crdFile = filepath.Join("..", "..", "..", "config", "crd", "bases", "dapr.io_configurations.yaml")

func loadCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile(crdFile)
	require.NoError(t, err, "run make generate")
	var crd apiextensionsv1.CustomResourceDefinition
	require.NoError(t, yaml.UnmarshalStrict(data, &crd))
	return &crd
}

func TestGeneratedCRDNamesTheResource(t *testing.T) {
	crd := loadCRD(t)
	assert.Equal(t, Resource+"."+GroupName, crd.Name)
	assert.Equal(t, GroupName, crd.Spec.Group)
	assert.Equal(t, apiextensionsv1.NamespaceScoped, crd.Spec.Scope)
	assert.Equal(t, Kind, crd.Spec.Names.Kind)
	assert.Equal(t, ListKind, crd.Spec.Names.ListKind)
	assert.Equal(t, Resource, crd.Spec.Names.Plural)
	require.Len(t, crd.Spec.Versions, 1)
	v := crd.Spec.Versions[0]
	assert.Equal(t, Version, v.Name)
	assert.True(t, v.Served)
	assert.True(t, v.Storage)
}

func TestGeneratedCRDHasPrinterColumns(t *testing.T) {
	crd := loadCRD(t)
	got := map[string]apiextensionsv1.CustomResourceColumnDefinition{}
	for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
		got[c.Name] = c
	}
	tests := map[string]struct {
		path, typ string
		wide      bool
	}{
		"mTLS":             {path: ".spec.mtls.enabled", typ: "boolean"},
		"Workload TTL":     {path: ".spec.mtls.workloadCertTTL", typ: "string"},
		"Clock Skew":       {path: ".spec.mtls.allowedClockSkew", typ: "string"},
		"Trust Domain":     {path: ".spec.accessControl.trustDomain", typ: "string"},
		"Control Plane TD": {path: ".spec.mtls.controlPlaneTrustDomain", typ: "string", wide: true},
		"Age":              {path: ".metadata.creationTimestamp", typ: "date"},
	}
	assert.Len(t, got, len(tests))
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, ok := got[name]
			require.True(t, ok, "column %q missing", name)
			assert.Equal(t, tc.path, c.JSONPath)
			assert.Equal(t, tc.typ, c.Type)
			assert.Equal(t, tc.wide, c.Priority > 0, "shown only with -o wide")
		})
	}
}

func TestGeneratedCRDSchema(t *testing.T) {
	schema := loadCRD(t).Spec.Versions[0].Schema.OpenAPIV3Schema
	require.NotNil(t, schema)
	spec := schema.Properties["spec"]
	mtls := spec.Properties["mtls"]

	t.Run("the spec keeps the sections trustplane does not model", func(t *testing.T) {
		require.NotNil(t, spec.XPreserveUnknownFields)
		assert.True(t, *spec.XPreserveUnknownFields)
	})
	t.Run("mtls requires only enabled, so pre-1.12 daprsystem objects validate", func(t *testing.T) {
		assert.Equal(t, []string{"enabled"}, mtls.Required)
	})
	t.Run("durations are free strings, checked by Sentry rather than the API server", func(t *testing.T) {
		assert.Equal(t, "string", mtls.Properties["workloadCertTTL"].Type)
		assert.Empty(t, mtls.Properties["workloadCertTTL"].Pattern)
		assert.Equal(t, "string", mtls.Properties["allowedClockSkew"].Type)
	})
	t.Run("only jwks can be configured as a token validator", func(t *testing.T) {
		name := mtls.Properties["tokenValidators"].Items.Schema.Properties["name"]
		require.Len(t, name.Enum, 1)
		assert.JSONEq(t, `"jwks"`, string(name.Enum[0].Raw))
	})
	t.Run("validator options are a free-form object", func(t *testing.T) {
		opts := mtls.Properties["tokenValidators"].Items.Schema.Properties["options"]
		assert.Equal(t, "object", opts.Type)
		require.NotNil(t, opts.XPreserveUnknownFields)
		assert.True(t, *opts.XPreserveUnknownFields)
	})
}

func TestAddToSchemeRegistersConfigurationAndList(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, AddToScheme(scheme))

	for kind, obj := range map[string]runtime.Object{Kind: &Configuration{}, ListKind: &ConfigurationList{}} {
		gvks, _, err := scheme.ObjectKinds(obj)
		require.NoError(t, err)
		assert.Equal(t, SchemeGroupVersion.WithKind(kind), gvks[0])
	}
	obj, err := scheme.New(GroupVersionKind)
	require.NoError(t, err)
	assert.IsType(t, &Configuration{}, obj)
}

func TestDeepCopyIsIndependent(t *testing.T) {
	var in Configuration
	require.NoError(t, yaml.Unmarshal([]byte(daprsystem), &in))

	out := in.DeepCopy()
	require.Equal(t, &in, out)
	*out.Spec.MTLSSpec.WorkloadCertTTL = "1h"
	out.Spec.MTLSSpec.TokenValidators[0].Options.Raw[0] = 'X'
	out.Spec.AccessControlSpec.AppPolicies[0].AppOperationActions[0].HTTPVerb[0] = "PUT"

	assert.Equal(t, "24h", *in.Spec.MTLSSpec.WorkloadCertTTL)
	assert.Equal(t, byte('{'), in.Spec.MTLSSpec.TokenValidators[0].Options.Raw[0])
	assert.Equal(t, "GET", in.Spec.AccessControlSpec.AppPolicies[0].AppOperationActions[0].HTTPVerb[0])

	list := &ConfigurationList{Items: []Configuration{in}}
	copied, ok := list.DeepCopyObject().(*ConfigurationList)
	require.True(t, ok)
	assert.Equal(t, list, copied)
}
