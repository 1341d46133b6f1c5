package app

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJWTFlags(t *testing.T) {
	oidcTLS := []string{"--jwt-enabled", "--jwt-issuer", "https://sentry.example.com", "--oidc-enabled",
		"--oidc-server-tls-cert-file", "/tls/tls.crt", "--oidc-server-tls-key-file", "/tls/tls.key"}
	tests := map[string]struct {
		args    []string
		wantErr string
		check   func(t *testing.T, o *Options)
	}{
		"JWT is off by default, with Dapr's defaults": {check: func(t *testing.T, o *Options) {
			assert.False(t, o.JWT.Enabled)
			assert.Nil(t, o.JWT.sentryOptions())
			assert.Nil(t, o.JWT.fileOptions())
			assert.Equal(t, 24*time.Hour, o.JWT.TTL)
			assert.Equal(t, 9080, o.JWT.OIDCPort)
			assert.Equal(t, "localhost", o.JWT.OIDCAddress)
			assert.True(t, o.JWT.OIDCTLSEnabled)
		}},
		"an issuer without JWT is refused, as Dapr refuses it": {args: []string{"--jwt-issuer", "https://x"}, wantErr: "jwt-issuer cannot be set when jwt-enabled is false"},
		"even an empty issuer without JWT is refused, as Dapr": {args: []string{"--jwt-issuer="}, wantErr: "jwt-issuer cannot be set when jwt-enabled is false"},
		"OIDC without JWT is refused":                          {args: []string{"--oidc-enabled"}, wantErr: "--oidc-enabled needs --jwt-enabled"},
		"an unknown algorithm is refused":                      {args: []string{"--jwt-enabled", "--jwt-signing-algorithm", "HS256"}, wantErr: "--jwt-signing-algorithm"},
		"a zero TTL is refused":                                {args: []string{"--jwt-enabled", "--jwt-ttl", "0s"}, wantErr: "--jwt-ttl"},
		"an issuer that does not parse as a URI is refused":    {args: []string{"--jwt-enabled", "--jwt-issuer", "https://a b/%zz"}, wantErr: "--jwt-issuer"},
		"Dapr's chart values are accepted: an issuer that is not a URL, a relative JWKS URI, OIDC without an issuer": {
			args: []string{"--jwt-enabled=true", "--jwt-issuer=dapr.io", "--oidc-enabled=true", "--oidc-server-listen-address=0.0.0.0",
				"--oidc-jwks-uri=/v1/jwks", "--oidc-server-tls-enabled=false"},
			check: func(t *testing.T, o *Options) {
				so := o.JWT.sentryOptions()
				assert.Equal(t, "dapr.io", so.Issuer)
				assert.Equal(t, "/v1/jwks", so.OIDC.JWKSURI)
			},
		},
		"OIDC without an issuer derives it per request": {
			args:  []string{"--jwt-enabled", "--oidc-enabled", "--oidc-server-tls-enabled=false"},
			check: func(t *testing.T, o *Options) { assert.Empty(t, o.JWT.sentryOptions().Issuer) },
		},
		"OIDC over TLS needs the certificate files": {
			args: []string{"--jwt-enabled", "--jwt-issuer", "https://s.example.com", "--oidc-enabled"}, wantErr: "--oidc-server-tls-enabled needs",
		},
		"half a TLS pair is refused": {
			args: []string{"--jwt-enabled", "--jwt-issuer", "https://s.example.com", "--oidc-enabled", "--oidc-server-tls-cert-file", "/c"}, wantErr: "go together",
		},
		"OIDC over TLS is assembled": {args: append(oidcTLS, "--oidc-path-prefix", "/oidc", "--oidc-allowed-hosts", "a.example.com,b.example.com"), check: func(t *testing.T, o *Options) {
			so := o.JWT.sentryOptions()
			require.NotNil(t, so)
			require.NotNil(t, so.OIDC)
			assert.Equal(t, "https://sentry.example.com", so.Issuer)
			assert.Equal(t, "localhost:9080", so.OIDC.Address)
			assert.Equal(t, "/tls/tls.crt", so.OIDC.TLSCertFile)
			assert.Equal(t, "/oidc", so.OIDC.PathPrefix)
			assert.Equal(t, []string{"a.example.com", "b.example.com"}, so.OIDC.AllowedHosts)
		}},
		"OIDC behind a proxy may serve plain HTTP": {
			args:  []string{"--jwt-enabled", "--jwt-issuer", "https://s.example.com", "--oidc-enabled", "--oidc-server-tls-enabled=false"},
			check: func(t *testing.T, o *Options) { assert.Empty(t, o.JWT.sentryOptions().OIDC.TLSCertFile) },
		},
		"JWT without OIDC may leave the issuer out": {args: []string{"--jwt-enabled", "--jwt-signing-algorithm", "ES256", "--jwt-key-id", "k1"}, check: func(t *testing.T, o *Options) {
			so := o.JWT.sentryOptions()
			assert.Nil(t, so.OIDC)
			assert.Equal(t, "ES256", so.Algorithm.String())
			assert.Equal(t, "k1", o.JWT.fileOptions().Parse.KeyID, "the stored key must carry the kid")
		}},
		"an absolute key file name is honoured self-hosted": {args: []string{"--jwt-enabled", "--jwt-key-filename", "/etc/keys/signing.pem"}, check: func(t *testing.T, o *Options) {
			assert.Equal(t, "/etc/keys/signing.pem", o.JWT.fileOptions().KeyFile)
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("sentry", pflag.ContinueOnError)
			o.AddFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			o.Parsed(fs)
			o.Complete(func(string) (string, bool) { return "", false })
			err := o.Validate()
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}
