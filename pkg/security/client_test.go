package security

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

func TestFirstFetch(t *testing.T) {
	tests := map[string]struct {
		keyType KeyType
		check   func(t *testing.T, k crypto.Signer)
	}{
		"the default key is ECDSA P-256": {KeyTypeECDSAP256, func(t *testing.T, k crypto.Signer) {
			require.IsType(t, &ecdsa.PrivateKey{}, k)
			assert.Equal(t, "P-256", k.(*ecdsa.PrivateKey).Curve.Params().Name)
		}},
		"an Ed25519 key can be chosen": {KeyTypeEd25519, func(t *testing.T, k crypto.Signer) {
			assert.IsType(t, ed25519.PrivateKey{}, k)
		}},
		"an RSA-2048 key can be chosen": {KeyTypeRSA2048, func(t *testing.T, k crypto.Signer) {
			require.IsType(t, &rsa.PrivateKey{}, k)
			assert.Equal(t, 2048, k.(*rsa.PrivateKey).N.BitLen())
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			opts := env.options(t, "app-a")
			opts.KeyType = tc.keyType
			c, err := New(opts)
			require.NoError(t, err)
			_, err = c.GetX509SVID()
			require.ErrorIs(t, err, ErrNotReady, "no SVID before Start")

			startClient(t, c)
			require.NoError(t, c.WaitReady(t.Context()))
			svid, err := c.GetX509SVID()
			require.NoError(t, err)
			assert.Equal(t, "spiffe://public/ns/default/app-a", svid.ID.String())
			require.Len(t, svid.Certificates, 2, "leaf and issuer")
			assert.True(t, svid.Certificates[1].Equal(env.ca.issuer))
			tc.check(t, svid.PrivateKey)

			b, err := c.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString("any.example"))
			require.NoError(t, err)
			assert.True(t, b.HasX509Authority(env.ca.root))
			assert.Equal(t, "any.example", b.TrustDomain().String())
		})
	}
}

func TestRequestFields(t *testing.T) {
	env := newTestEnv(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("token-one\n"), 0o600))
	opts := env.options(t, "orders")
	opts.Namespace = "shop"
	opts.TrustDomain = "example.org"
	opts.TokenFile = tokenFile
	opts.TokenValidator = sentryv1.SignCertificateRequest_KUBERNETES
	opts.JWTAudiences = []string{"aud-1"}
	c := readyClient(t, opts)

	svid, err := c.GetX509SVID()
	require.NoError(t, err)
	assert.Equal(t, "spiffe://example.org/ns/shop/orders", svid.ID.String())

	req := env.sentry.request(0)
	assert.Equal(t, "orders", req.GetId())
	assert.Equal(t, "shop", req.GetNamespace())
	assert.Equal(t, "example.org", req.GetTrustDomain())
	assert.Equal(t, "token-one", req.GetToken(), "token is trimmed")
	assert.Equal(t, sentryv1.SignCertificateRequest_KUBERNETES, req.GetTokenValidator())
	assert.Equal(t, []string{"aud-1"}, req.GetJwtAudiences())
	csr1 := parseTestCSR(t, req.GetCertificateSigningRequest())
	assert.Empty(t, csr1.Subject.String(), "empty template: no subject")
	assert.Empty(t, csr1.URIs)
	assert.Empty(t, csr1.DNSNames)

	// The token is read afresh and the key is new on the next issuance.
	require.NoError(t, os.WriteFile(tokenFile, []byte("token-two"), 0o600))
	waitTimer(t, env.clock)
	env.clock.Step(31 * time.Minute)
	require.Eventually(t, func() bool { return env.sentry.requestCount() == 2 }, 5*time.Second, time.Millisecond)
	req = env.sentry.request(1)
	assert.Equal(t, "token-two", req.GetToken())
	csr2 := parseTestCSR(t, req.GetCertificateSigningRequest())
	assert.NotEqual(t, csr1.RawSubjectPublicKeyInfo, csr2.RawSubjectPublicKeyInfo, "fresh key per issuance")
}

func parseTestCSR(t *testing.T, raw []byte) *x509.CertificateRequest {
	t.Helper()
	block, rest := pem.Decode(raw)
	require.NotNil(t, block)
	assert.Empty(t, rest)
	assert.Equal(t, "CERTIFICATE REQUEST", block.Type)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	require.NoError(t, err)
	require.NoError(t, csr.CheckSignature())
	return csr
}

func TestSentryIdentityIsEnforced(t *testing.T) {
	tests := map[string]struct {
		serverID spiffeid.ID
		otherCA  bool
		wantErr  string
	}{
		"a server with another SPIFFE ID is refused": {
			serverID: spiffeid.RequireFromString("spiffe://localhost/ns/default/not-sentry"),
			wantErr:  "unexpected ID",
		},
		"a server in another trust domain is refused": {
			serverID: spiffeid.RequireFromString("spiffe://evil.example/ns/default/dapr-sentry"),
			wantErr:  "unexpected ID",
		},
		"a server with Sentry's ID from an untrusted CA is refused": {
			serverID: testSentryID,
			otherCA:  true,
			wantErr:  "could not verify leaf certificate",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			serverCA := env.ca
			if tc.otherCA {
				serverCA = newTestCA(t, "rogue")
			}
			rogue := startFakeSentry(t, env.ca, serverCA, tc.serverID, env.clock)
			opts := env.options(t, "app-a")
			opts.SentryAddress = rogue.addr
			c, err := New(opts)
			require.NoError(t, err)

			_, err = c.sign(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Zero(t, rogue.requestCount(), "no request reaches an unauthorized server")
		})
	}
}

func TestSignErrors(t *testing.T) {
	tests := map[string]struct {
		setup   func(t *testing.T, env *testEnv, opts *Options)
		wantErr string
	}{
		"an empty token file is an error, not an empty token": {
			setup: func(t *testing.T, _ *testEnv, opts *Options) {
				opts.TokenFile = filepath.Join(t.TempDir(), "token")
				require.NoError(t, os.WriteFile(opts.TokenFile, []byte(" \n"), 0o600))
			},
			wantErr: "is empty",
		},
		"a missing token file is an error": {
			setup: func(t *testing.T, _ *testEnv, opts *Options) {
				opts.TokenFile = filepath.Join(t.TempDir(), "missing")
			},
			wantErr: "read sentry token",
		},
		"a failing sentry's status is returned": {
			setup:   func(_ *testing.T, env *testEnv, _ *Options) { env.sentry.setFailing(true) },
			wantErr: "failing on purpose",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := newTestEnv(t)
			opts := env.options(t, "app-a")
			tc.setup(t, env, &opts)
			c, err := New(opts)
			require.NoError(t, err)
			_, err = c.sign(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestCheckResponse(t *testing.T) {
	env := newTestEnv(t)
	other := newTestCA(t, "other")
	now := env.clock.Now()
	appID := spiffeid.RequireFromString("spiffe://public/ns/default/app-a")
	key := newTestKey(t)
	good := env.ca.leaf(t, appID, key.Public(), now, now.Add(time.Hour))

	tests := map[string]struct {
		resp    *sentryv1.SignCertificateResponse
		wantErr string
	}{
		"a good chain is accepted": {
			resp: &sentryv1.SignCertificateResponse{WorkloadCertificate: pemCert(good, env.ca.issuer)},
		},
		"a leaf without its issuer does not chain to the root": {
			resp:    &sentryv1.SignCertificateResponse{WorkloadCertificate: pemCert(good)},
			wantErr: "could not verify leaf certificate",
		},
		"a leaf for another app is refused": {
			resp: &sentryv1.SignCertificateResponse{WorkloadCertificate: pemCert(env.ca.leaf(t,
				spiffeid.RequireFromString("spiffe://public/ns/default/app-b"), key.Public(), now, now.Add(time.Hour)), env.ca.issuer)},
			wantErr: "issued spiffe://public/ns/default/app-b",
		},
		"a leaf for another namespace is refused": {
			resp: &sentryv1.SignCertificateResponse{WorkloadCertificate: pemCert(env.ca.leaf(t,
				spiffeid.RequireFromString("spiffe://public/ns/kube-system/app-a"), key.Public(), now, now.Add(time.Hour)), env.ca.issuer)},
			wantErr: `in namespace "default"`,
		},
		"a leaf for another key is refused": {
			resp: &sentryv1.SignCertificateResponse{WorkloadCertificate: pemCert(env.ca.leaf(t,
				appID, newTestKey(t).Public(), now, now.Add(time.Hour)), env.ca.issuer)},
			wantErr: "does not match private key",
		},
		"an expired leaf is refused": {
			resp: &sentryv1.SignCertificateResponse{WorkloadCertificate: pemCert(env.ca.leaf(t,
				appID, key.Public(), now.Add(-2*time.Hour), now.Add(-time.Hour)), env.ca.issuer)},
			wantErr: "expired",
		},
		"a leaf from an unknown CA is refused": {
			resp: &sentryv1.SignCertificateResponse{WorkloadCertificate: pemCert(other.leaf(t,
				appID, key.Public(), now, now.Add(time.Hour)), other.issuer)},
			wantErr: "could not verify leaf certificate",
		},
		"a leaf from a CA whose root comes with the response is accepted": {
			resp: &sentryv1.SignCertificateResponse{
				WorkloadCertificate:    pemCert(other.leaf(t, appID, key.Public(), now, now.Add(time.Hour)), other.issuer),
				TrustChainCertificates: [][]byte{append(pemCert(env.ca.root), other.rootPEM...)},
			},
		},
		"an empty trust chain element is ignored": {
			resp: &sentryv1.SignCertificateResponse{
				WorkloadCertificate:    pemCert(good, env.ca.issuer),
				TrustChainCertificates: [][]byte{{}, []byte("\n")},
			},
		},
		"garbage instead of a chain is refused": {
			resp:    &sentryv1.SignCertificateResponse{WorkloadCertificate: []byte("nope")},
			wantErr: "no PEM certificate found",
		},
		"a leaf in the trust chain is refused": {
			resp: &sentryv1.SignCertificateResponse{
				WorkloadCertificate:    pemCert(good, env.ca.issuer),
				TrustChainCertificates: [][]byte{pemCert(good)},
			},
			wantErr: "is not a CA",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := New(env.options(t, "app-a"))
			require.NoError(t, err)
			got, err := c.checkResponse(tc.resp, key)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalidResponse)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, appID, got.svid.ID)
		})
	}
}
