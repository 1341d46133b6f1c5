package v1alpha1

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

const daprsystem = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprsystem
  namespace: dapr-system
spec:
  mtls:
    enabled: true
    workloadCertTTL: 24h
    allowedClockSkew: 15m
    controlPlaneTrustDomain: cluster.local
    sentryAddress: dapr-sentry.dapr-system.svc.cluster.local:443
    tokenValidators:
    - name: jwks
      options:
        source: https://issuer.example/jwks.json
        minRefreshInterval: 600
  accessControl:
    defaultAction: deny
    trustDomain: apps.example
    policies:
    - appId: caller
      operations:
      - name: /op
        httpVerb: ["GET"]
        action: allow
  httpPipeline:
    handlers:
    - name: oauth
      type: middleware.http.oauth2
  features:
  - name: Actor.Reentrancy
    enabled: true
`

func TestConfigurationDecodesDaprsYAML(t *testing.T) {
	var c Configuration
	require.NoError(t, yaml.Unmarshal([]byte(daprsystem), &c))

	assert.Equal(t, APIVersion, c.APIVersion)
	assert.Equal(t, Kind, c.Kind)
	assert.Equal(t, "daprsystem", c.Name)
	require.NotNil(t, c.Spec.MTLSSpec)
	m := c.Spec.MTLSSpec
	require.NotNil(t, m.Enabled)
	assert.True(t, *m.Enabled)
	require.NotNil(t, m.WorkloadCertTTL)
	assert.Equal(t, "24h", *m.WorkloadCertTTL)
	require.NotNil(t, m.AllowedClockSkew)
	assert.Equal(t, "15m", *m.AllowedClockSkew)
	assert.Equal(t, "cluster.local", m.ControlPlaneTrustDomain)
	assert.Equal(t, "dapr-sentry.dapr-system.svc.cluster.local:443", m.SentryAddress)
	require.Len(t, m.TokenValidators, 1)
	assert.Equal(t, "jwks", m.TokenValidators[0].Name)
	require.NotNil(t, m.TokenValidators[0].Options)
	assert.JSONEq(t, `{"source":"https://issuer.example/jwks.json","minRefreshInterval":600}`,
		string(m.TokenValidators[0].Options.Raw))

	require.NotNil(t, c.Spec.AccessControlSpec)
	assert.Equal(t, "apps.example", c.Spec.AccessControlSpec.TrustDomain)
	require.Len(t, c.Spec.AccessControlSpec.AppPolicies, 1)
	assert.Equal(t, "caller", c.Spec.AccessControlSpec.AppPolicies[0].AppName)
	assert.Equal(t, "/op", c.Spec.AccessControlSpec.AppPolicies[0].AppOperationActions[0].Operation)
	require.NotNil(t, c.Spec.HTTPPipelineSpec)
	assert.Equal(t, "middleware.http.oauth2", c.Spec.HTTPPipelineSpec.Handlers[0].Type)
	assert.Equal(t, []FeatureSpec{{Name: "Actor.Reentrancy", Enabled: true}}, c.Spec.Features)
}

func TestConfigurationEncodesOnlyWhatIsSet(t *testing.T) {
	tests := map[string]struct {
		in   Configuration
		want string
	}{
		"an empty spec encodes no sections": {
			in:   Configuration{},
			want: `{"metadata":{"creationTimestamp":null},"spec":{}}`,
		},
		"an mtls section keeps its required fields and drops unset optional ones": {
			in:   Configuration{Spec: ConfigurationSpec{MTLSSpec: &MTLSSpec{}}},
			want: `{"metadata":{"creationTimestamp":null},"spec":{"mtls":{"enabled":null,"controlPlaneTrustDomain":"","sentryAddress":""}}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := json.Marshal(tc.in)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(got))
		})
	}
}

func TestGroupVersionNames(t *testing.T) {
	assert.Equal(t, "dapr.io/v1alpha1", APIVersion)
	assert.Equal(t, "dapr.io/v1alpha1, Kind=Configuration", GroupVersionKind.String())
	assert.Equal(t, "configurations", GroupVersionResource.Resource)
}
