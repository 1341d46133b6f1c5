package security

import (
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

func TestOptionsFromEnv(t *testing.T) {
	ca := newTestCA(t, "env")
	base := map[string]string{
		EnvTrustAnchors: string(ca.rootPEM),
		EnvAppID:        "orders",
		EnvNamespace:    "shop",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := map[string]struct {
		env     map[string]string
		check   func(t *testing.T, o Options)
		wantErr []string
	}{
		"the minimal self-hosted environment gets Dapr's defaults": {
			env: base,
			check: func(t *testing.T, o Options) {
				assert.Equal(t, "localhost:50001", o.SentryAddress)
				assert.Equal(t, "spiffe://localhost/ns/default/dapr-sentry", o.SentryID.String())
				assert.Equal(t, ca.rootPEM, o.TrustAnchors)
				assert.Equal(t, "orders", o.AppID)
				assert.Equal(t, "shop", o.Namespace)
				assert.Empty(t, o.TokenFile)
				assert.Equal(t, sentryv1.SignCertificateRequest_UNKNOWN, o.TokenValidator)
				assert.Equal(t, KeyTypeECDSAP256, o.KeyType)
			},
		},
		"the control plane's trust domain and namespace name sentry": {
			env: with(EnvControlPlaneTrustDomain, "cluster.local", EnvControlPlaneNamespace, "dapr-system"),
			check: func(t *testing.T, o Options) {
				assert.Equal(t, "spiffe://cluster.local/ns/dapr-system/dapr-sentry", o.SentryID.String())
			},
		},
		"a token file selects the JWKS validator as in Dapr": {
			env: with(EnvSentryTokenFile, "/tmp/token"),
			check: func(t *testing.T, o Options) {
				assert.Equal(t, "/tmp/token", o.TokenFile)
				assert.Equal(t, sentryv1.SignCertificateRequest_JWKS, o.TokenValidator)
			},
		},
		"the validator can be named explicitly in any case": {
			env: with(EnvSentryTokenFile, "/tmp/token", EnvSentryTokenValidator, "Kubernetes"),
			check: func(t *testing.T, o Options) {
				assert.Equal(t, sentryv1.SignCertificateRequest_KUBERNETES, o.TokenValidator)
			},
		},
		"DAPR_SENTRY_ADDRESS wins over SENTRY_ADDRESS": {
			env: with(EnvSentryAddress, "sentry.example:443", EnvSentryAddressShort, "other:1"),
			check: func(t *testing.T, o Options) {
				assert.Equal(t, "sentry.example:443", o.SentryAddress)
			},
		},
		"a bare host gets the default port": {
			env:   with(EnvSentryAddressShort, "sentry.local"),
			check: func(t *testing.T, o Options) { assert.Equal(t, "sentry.local:50001", o.SentryAddress) },
		},
		"a bare IPv6 host gets the default port": {
			env:   with(EnvSentryAddress, "[::1]"),
			check: func(t *testing.T, o Options) { assert.Equal(t, "[::1]:50001", o.SentryAddress) },
		},
		"an anchors file replaces inline anchors": {
			env: map[string]string{EnvTrustAnchorsFile: "/etc/ca.crt", EnvAppID: "a", EnvNamespace: "b"},
			check: func(t *testing.T, o Options) {
				assert.Equal(t, "/etc/ca.crt", o.TrustAnchorsFile)
				assert.Nil(t, o.TrustAnchors)
			},
		},
		"the key type can be chosen": {
			env:   with(EnvSentryKeyType, "ed25519"),
			check: func(t *testing.T, o Options) { assert.Equal(t, KeyTypeEd25519, o.KeyType) },
		},
		"an empty environment names every missing variable": {
			env:     map[string]string{},
			wantErr: []string{"DAPR_TRUST_ANCHORS or DAPR_TRUST_ANCHORS_FILE", "APP_ID", "NAMESPACE"},
		},
		"both anchor variables are ambiguous": {
			env:     with(EnvTrustAnchorsFile, "/etc/ca.crt"),
			wantErr: []string{"set only one of DAPR_TRUST_ANCHORS and DAPR_TRUST_ANCHORS_FILE"},
		},
		"inline anchors that are not PEM are rejected": {
			env:     with(EnvTrustAnchors, "hello"),
			wantErr: []string{"DAPR_TRUST_ANCHORS: invalid trust anchors"},
		},
		"an app ID with a dot is rejected": {
			env:     with(EnvAppID, "my.app"),
			wantErr: []string{"APP_ID", "contains a dot"},
		},
		"a bad namespace is rejected": {
			env:     with(EnvNamespace, "Shop"),
			wantErr: []string{"NAMESPACE"},
		},
		"a bad control plane trust domain is rejected": {
			env:     with(EnvControlPlaneTrustDomain, "Not A TD"),
			wantErr: []string{"DAPR_CONTROLPLANE_TRUST_DOMAIN"},
		},
		"a bad control plane namespace is rejected": {
			env:     with(EnvControlPlaneNamespace, "a.b"),
			wantErr: []string{"DAPR_CONTROLPLANE_NAMESPACE"},
		},
		"an unknown validator is rejected": {
			env:     with(EnvSentryTokenValidator, "oidc"),
			wantErr: []string{"DAPR_SENTRY_TOKEN_VALIDATOR", "oidc"},
		},
		"an unknown key type is rejected": {
			env:     with(EnvSentryKeyType, "dsa"),
			wantErr: []string{"DAPR_SENTRY_KEY_TYPE"},
		},
		"a sentry URL is not an address": {
			env:     with(EnvSentryAddress, "https://sentry:443/x"),
			wantErr: []string{"want host:port"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := OptionsFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != nil {
				require.Error(t, err)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestOptionsFromEnvMissingIsBranchable(t *testing.T) {
	_, err := OptionsFromEnv(func(string) string { return "" })
	require.ErrorIs(t, err, ErrMissingEnv)
}

func TestEnvOptionsAreAcceptedByNew(t *testing.T) {
	ca := newTestCA(t, "env")
	env := map[string]string{EnvTrustAnchors: string(ca.rootPEM), EnvAppID: "orders", EnvNamespace: "shop"}
	o, err := OptionsFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	_, err = New(o)
	require.NoError(t, err)
}

func TestNewValidatesOptions(t *testing.T) {
	ca := newTestCA(t, "opts")
	valid := func() Options {
		return Options{
			SentryAddress: "localhost:50001", SentryID: testSentryID, TrustAnchors: ca.rootPEM,
			AppID: "app", Namespace: "default",
		}
	}
	tests := map[string]struct {
		mutate  func(o *Options)
		wantErr string
	}{
		"a missing address is rejected":       {func(o *Options) { o.SentryAddress = "" }, "sentry address is required"},
		"an address without port is rejected": {func(o *Options) { o.SentryAddress = "sentry" }, `sentry address "sentry"`},
		"a missing sentry ID is rejected":     {func(o *Options) { o.SentryID = spiffeid.ID{} }, "sentry SPIFFE ID is required"},
		"a trust domain is not a sentry ID":   {func(o *Options) { o.SentryID = testSentryID.TrustDomain().ID() }, "has no path"},
		"no anchors are rejected":             {func(o *Options) { o.TrustAnchors = nil }, "trust anchors are required"},
		"two anchor sources are rejected":     {func(o *Options) { o.TrustAnchorsFile = "/x" }, "set only one"},
		"a bad app ID is rejected":            {func(o *Options) { o.AppID = "" }, "app ID is empty"},
		"a bad namespace is rejected":         {func(o *Options) { o.Namespace = "a_b" }, "namespace"},
		"a bad trust domain is rejected":      {func(o *Options) { o.TrustDomain = "A B" }, "trust domain"},
		"an unknown validator is rejected":    {func(o *Options) { o.TokenValidator = 9 }, "unknown token validator 9"},
		"an unknown key type is rejected":     {func(o *Options) { o.KeyType = 7 }, "unknown key type 7"},
		"a negative timeout is rejected":      {func(o *Options) { o.RequestTimeout = -1 }, "negative"},
		"bad inline anchors are rejected":     {func(o *Options) { o.TrustAnchors = []byte("x") }, "invalid trust anchors"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := valid()
			tc.mutate(&o)
			_, err := New(o)
			require.ErrorIs(t, err, ErrInvalidOptions)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	_, err := New(valid())
	require.NoError(t, err, "the base options are valid")
}
