package security

import (
	"crypto/rsa"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

func TestKubernetesToken(t *testing.T) {
	const (
		kubernetes = sentryv1.SignCertificateRequest_KUBERNETES
		unknown    = sentryv1.SignCertificateRequest_UNKNOWN
	)
	tests := map[string]struct {
		projected, legacy *string // nil: the file does not exist
		noLegacy          bool    // no legacy path configured
		want              Token
		wantLog           string
	}{
		"the projected token goes to the Kubernetes validator": {
			projected: ptr("projected-token\n"), legacy: ptr("legacy-token"),
			want: Token{Value: "projected-token", Validator: kubernetes}, wantLog: "Authenticating to Sentry with the projected service-account token",
		},
		"without the projected file, the legacy service-account token, with a warning": {
			legacy: ptr("legacy-token"),
			want:   Token{Value: "legacy-token", Validator: kubernetes}, wantLog: "authenticating to Sentry with the legacy service-account token",
		},
		"without either, no token and no validator named, so Sentry's default decides": {
			want: Token{Validator: unknown}, wantLog: "asking Sentry without a token and without naming a validator",
		},
		"an empty legacy token is no token": {
			legacy: ptr(" \n"),
			want:   Token{Validator: unknown}, wantLog: "asking Sentry without a token",
		},
		"without a legacy path, no token": {
			noLegacy: true,
			want:     Token{Validator: unknown}, wantLog: "asking Sentry without a token",
		},
		"an empty projected file is no token, and the legacy one is not tried (as in Dapr)": {
			projected: ptr(""), legacy: ptr("legacy-token"),
			want: Token{Validator: unknown}, wantLog: "asking Sentry without a token",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			projected, legacy := filepath.Join(dir, "sentrytoken", "token"), filepath.Join(dir, "serviceaccount", "token")
			for path, content := range map[string]*string{projected: tc.projected, legacy: tc.legacy} {
				if content != nil {
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
					require.NoError(t, os.WriteFile(path, []byte(*content), 0o600))
				}
			}
			if tc.noLegacy {
				legacy = ""
			}
			core, logs := observer.New(zap.InfoLevel)
			source := KubernetesToken(projected, legacy, zap.New(core))
			for range 3 {
				got, err := source()
				require.NoError(t, err, "a missing token is not an error: Sentry decides")
				assert.Equal(t, tc.want, got)
			}
			assert.Equal(t, 1, logs.FilterMessageSnippet(tc.wantLog).Len(), "logged once, not per request")
			assert.Equal(t, 1, logs.Len())
		})
	}

	t.Run("the choice is made afresh for every request and each change is logged", func(t *testing.T) {
		dir := t.TempDir()
		projected := filepath.Join(dir, "token")
		core, logs := observer.New(zap.InfoLevel)
		source := KubernetesToken(projected, filepath.Join(dir, "missing"), zap.New(core))
		got, err := source()
		require.NoError(t, err)
		assert.Empty(t, got.Value)
		require.NoError(t, os.WriteFile(projected, []byte("t1"), 0o600))
		got, err = source()
		require.NoError(t, err)
		assert.Equal(t, Token{Value: "t1", Validator: sentryv1.SignCertificateRequest_KUBERNETES}, got)
		require.NoError(t, os.WriteFile(projected, []byte("t2"), 0o600))
		got, err = source()
		require.NoError(t, err)
		assert.Equal(t, "t2", got.Value, "a rotated token is read again")
		assert.Equal(t, 2, logs.Len(), "no token, then the projected one")
	})
}

func ptr(s string) *string { return &s }

func TestTokenSourceReachesSentry(t *testing.T) {
	env := newTestEnv(t)
	dir := t.TempDir()
	opts := env.options(t, "dapr-injector")
	opts.Token = KubernetesToken(filepath.Join(dir, "missing"), filepath.Join(dir, "missing-too"), nil)
	opts.KeyType = KeyTypeRSA2048
	c := readyClient(t, opts)

	req := env.sentry.request(0)
	assert.Empty(t, req.GetToken())
	assert.Equal(t, sentryv1.SignCertificateRequest_UNKNOWN, req.GetTokenValidator(), "no validator named: Sentry's default")
	svid, err := c.GetX509SVID()
	require.NoError(t, err)
	key, ok := svid.PrivateKey.(*rsa.PrivateKey)
	require.True(t, ok, "an RSA key, %T", svid.PrivateKey)
	assert.Equal(t, 2048, key.N.BitLen(), "the size dapr/kit's spiffe.KeyAlgorithmRSA generates")

	t.Run("a token source excludes a token file and validator", func(t *testing.T) {
		bad := opts
		bad.TokenFile = "/token"
		_, err := New(bad)
		assert.ErrorIs(t, err, ErrInvalidOptions)
		bad = opts
		bad.TokenValidator = sentryv1.SignCertificateRequest_JWKS
		_, err = New(bad)
		assert.ErrorIs(t, err, ErrInvalidOptions)
	})
}
