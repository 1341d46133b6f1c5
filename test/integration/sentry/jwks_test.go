package sentry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/testca"
)

type jwtSigner struct{ key jwk.Key }

func newJWTSigner(t *testing.T) (*jwtSigner, []byte) {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	require.NoError(t, key.Set(jwk.KeyIDKey, "k1"))
	require.NoError(t, key.Set(jwk.AlgorithmKey, jwa.ES256))
	pub, err := key.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	data, err := json.Marshal(set)
	require.NoError(t, err)
	return &jwtSigner{key: key}, data
}

func (s *jwtSigner) token(t *testing.T, sub, aud string, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewBuilder().Subject(sub).Audience([]string{aud}).IssuedAt(time.Now().Add(-time.Minute)).Expiration(exp).Build()
	require.NoError(t, err)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, s.key))
	require.NoError(t, err)
	return string(signed)
}

func TestSentryValidatesJWTsAgainstAJWKS(t *testing.T) {
	signer, jwks := newJWTSigner(t)
	stranger, _ := newJWTSigner(t)
	cfgDir := t.TempDir()
	jwksPath := filepath.Join(cfgDir, "jwks.json")
	testca.WriteFile(t, jwksPath, jwks)
	cfg := filepath.Join(cfgDir, "config.yaml")
	testca.WriteFile(t, cfg, fmt.Appendf(nil, `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprsystem
spec:
  mtls:
    enabled: true
    tokenValidators:
      - name: jwks
        options:
          source: %q
`, jwksPath))
	p := startSentry(t, t.TempDir(), "--config", cfg)
	client := p.client(t)

	const sub = "spiffe://public/ns/shop/orders"
	aud := p.ID.String()
	hour := time.Now().Add(time.Hour)
	tests := map[string]struct {
		token     string
		validator sentryv1.SignCertificateRequest_TokenValidator
		wantCode  codes.Code
	}{
		"a valid token gets its SVID":                {token: signer.token(t, sub, aud, hour), validator: sentryv1.SignCertificateRequest_JWKS, wantCode: codes.OK},
		"an expired token is denied":                 {token: signer.token(t, sub, aud, time.Now().Add(-time.Hour)), validator: sentryv1.SignCertificateRequest_JWKS, wantCode: codes.PermissionDenied},
		"a token for another audience is denied":     {token: signer.token(t, sub, "spiffe://cluster.local/ns/default/other", hour), validator: sentryv1.SignCertificateRequest_JWKS, wantCode: codes.PermissionDenied},
		"a token for another subject is denied":      {token: signer.token(t, "spiffe://public/ns/shop/payments", aud, hour), validator: sentryv1.SignCertificateRequest_JWKS, wantCode: codes.PermissionDenied},
		"a token signed by an unknown key is denied": {token: stranger.token(t, sub, aud, hour), validator: sentryv1.SignCertificateRequest_JWKS, wantCode: codes.PermissionDenied},
		"no token is denied":                         {validator: sentryv1.SignCertificateRequest_JWKS, wantCode: codes.PermissionDenied},
		"naming no validator is an invalid argument once jwks is configured": {
			token: signer.token(t, sub, aud, hour), validator: sentryv1.SignCertificateRequest_UNKNOWN, wantCode: codes.InvalidArgument,
		},
		"insecure is off once jwks is configured": {
			validator: sentryv1.SignCertificateRequest_INSECURE, wantCode: codes.InvalidArgument,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, err := client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
				Id: "orders", Namespace: "shop", Token: tc.token, TokenValidator: tc.validator,
				CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
			})
			assert.Equal(t, tc.wantCode, status.Code(err), "%v", err)
			if tc.wantCode == codes.OK {
				assert.Equal(t, sub, parseChain(t, resp.GetWorkloadCertificate())[0].URIs[0].String())
			}
		})
	}
	t.Run("the log never holds a token", func(t *testing.T) {
		assert.NotContains(t, p.Logs.String(), signer.token(t, sub, aud, hour)[:40])
	})
}
