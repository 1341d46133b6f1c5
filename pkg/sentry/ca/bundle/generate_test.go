package bundle_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

const day = 24 * time.Hour

func TestGenerate(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	tests := map[string]struct {
		opts                           bundle.GenerateOptions
		wantNotBefore                  time.Time
		wantRootNotAfter, wantIssuerNA time.Time
	}{
		"defaults give a root and an issuer of 365 days": {
			opts:             bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: t0},
			wantNotBefore:    t0,
			wantRootNotAfter: t0.Add(365 * day),
			wantIssuerNA:     t0.Add(365 * day),
		},
		"NotBefore is backdated by the allowed clock skew": {
			opts:             bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: t0, AllowedClockSkew: 15 * time.Minute},
			wantNotBefore:    t0.Add(-15 * time.Minute),
			wantRootNotAfter: t0.Add(365 * day),
			wantIssuerNA:     t0.Add(365 * day),
		},
		"an issuer outliving the root is cut to end with the root": {
			opts:             bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: t0, RootTTL: 30 * day, IssuerTTL: 90 * day},
			wantNotBefore:    t0,
			wantRootNotAfter: t0.Add(30 * day),
			wantIssuerNA:     t0.Add(30 * day),
		},
		"a shorter issuer lifetime is kept": {
			opts:             bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: t0, RootTTL: 90 * day, IssuerTTL: 30 * day},
			wantNotBefore:    t0,
			wantRootNotAfter: t0.Add(90 * day),
			wantIssuerNA:     t0.Add(30 * day),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := bundle.Generate(tc.opts)
			require.NoError(t, err)
			require.Len(t, b.Roots, 1)
			require.Len(t, b.IssuerChain, 1)
			root, issuer := b.Roots[0], b.Issuer()

			assert.True(t, tc.wantNotBefore.Equal(root.NotBefore), "root NotBefore %s", root.NotBefore)
			assert.True(t, tc.wantNotBefore.Equal(issuer.NotBefore), "issuer NotBefore %s", issuer.NotBefore)
			assert.True(t, tc.wantRootNotAfter.Equal(root.NotAfter), "root NotAfter %s", root.NotAfter)
			assert.True(t, tc.wantIssuerNA.Equal(issuer.NotAfter), "issuer NotAfter %s", issuer.NotAfter)
			assert.False(t, issuer.NotAfter.After(root.NotAfter))
			require.NoError(t, b.Verify(tc.opts.Now))
		})
	}
}

func TestGenerateShapesRootAndIssuer(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	b, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: t0})
	require.NoError(t, err)
	root, issuer := b.Roots[0], b.Issuer()
	usage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	limit := new(big.Int).Lsh(big.NewInt(1), 128)

	// Root: O=<trust domain>, no CN, CA, P-256, no SANs.
	assert.Equal(t, []string{"cluster.local"}, root.Subject.Organization)
	assert.Empty(t, root.Subject.CommonName)
	assert.True(t, root.IsCA)
	assert.True(t, root.BasicConstraintsValid)
	assert.Equal(t, usage, root.KeyUsage)
	assert.Equal(t, root.RawSubject, root.RawIssuer)
	// Issuer: O=<Sentry's SPIFFE ID>, CA with path length 0, signed by the root.
	assert.Equal(t, []string{"spiffe://cluster.local/ns/dapr-system/dapr-sentry"}, issuer.Subject.Organization)
	assert.Empty(t, issuer.Subject.CommonName)
	assert.True(t, issuer.IsCA)
	assert.Equal(t, 0, issuer.MaxPathLen)
	assert.True(t, issuer.MaxPathLenZero)
	assert.Equal(t, usage, issuer.KeyUsage)
	require.NoError(t, issuer.CheckSignatureFrom(root))
	assert.Equal(t, root.SubjectKeyId, issuer.AuthorityKeyId)

	for _, c := range []*x509.Certificate{root, issuer} {
		assert.Empty(t, c.DNSNames)
		assert.Empty(t, c.URIs)
		assert.Empty(t, c.IPAddresses)
		assert.Empty(t, c.EmailAddresses)
		assert.Equal(t, 1, c.SerialNumber.Sign())
		assert.Negative(t, c.SerialNumber.Cmp(limit), "serial below 2^128")
		_, ok := c.PublicKey.(ed25519.PublicKey)
		require.True(t, ok, "Ed25519 key by default, as Dapr v1.18's, got %T", c.PublicKey)
	}
	// Separate keys for root and issuer; the issuer key is stored as PKCS#8.
	assert.False(t, root.PublicKey.(ed25519.PublicKey).Equal(issuer.PublicKey))
	block, rest := pem.Decode(b.IssuerKeyPEM)
	require.NotNil(t, block)
	assert.Equal(t, "PRIVATE KEY", block.Type)
	assert.Empty(t, rest)
	assert.Equal(t, b.IssuerChainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuer.Raw}))
	assert.Equal(t, b.RootsPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))

	// The stored form parses back to the same bundle.
	again, err := bundle.Parse(b.RootsPEM, b.IssuerChainPEM, b.IssuerKeyPEM)
	require.NoError(t, err)
	assert.True(t, again.Equal(b))

	// Each generation is a new CA.
	other, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: t0})
	require.NoError(t, err)
	assert.False(t, other.Equal(b))
	assert.NotEqual(t, 0, other.Roots[0].SerialNumber.Cmp(root.SerialNumber))
}

func TestGenerateRefusesBadOptions(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	tests := map[string]bundle.GenerateOptions{
		"an empty trust domain is refused": {Namespace: "dapr-system", Now: t0},
		"an empty namespace is refused":    {TrustDomain: td, Now: t0},
		"an invalid namespace is refused":  {TrustDomain: td, Namespace: "Dapr_System", Now: t0},
		"an unset time is refused":         {TrustDomain: td, Namespace: "dapr-system"},
		"a negative clock skew is refused": {TrustDomain: td, Namespace: "dapr-system", Now: t0, AllowedClockSkew: -time.Minute},
		"a negative issuer TTL is refused": {TrustDomain: td, Namespace: "dapr-system", Now: t0, IssuerTTL: -day},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := bundle.Generate(opts)
			require.Error(t, err)
			assert.Nil(t, b)
		})
	}
}

func TestGenerate_WithARootKeyKeepsTheRootIdentity(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	first, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: td, Namespace: "dapr-system", Now: now, RootKey: key})
	require.NoError(t, err)
	renewed, err := bundle.Generate(bundle.GenerateOptions{
		TrustDomain: td, Namespace: "dapr-system", Now: now.Add(time.Hour), RootKey: key, SameKeyRoot: first.Roots[0],
	})
	require.NoError(t, err)

	oldRoot, newRoot := first.Roots[0], renewed.Roots[0]
	assert.NotEqual(t, oldRoot.Raw, newRoot.Raw, "a new root certificate")
	assert.True(t, key.PublicKey.Equal(newRoot.PublicKey), "over the same key")
	assert.Equal(t, oldRoot.RawSubject, newRoot.RawSubject)
	assert.Equal(t, oldRoot.SubjectKeyId, newRoot.SubjectKeyId)
	require.NoError(t, renewed.Issuer().CheckSignatureFrom(oldRoot), "workloads that still trust the old root accept the new issuer")
}

func TestGenerateWithECDSAP256Keys(t *testing.T) {
	b, err := bundle.Generate(bundle.GenerateOptions{TrustDomain: spiffeid.RequireTrustDomainFromString("cluster.local"), Namespace: "dapr-system",
		Now: time.Now(), KeyAlgorithm: bundle.KeyECDSAP256})
	require.NoError(t, err)
	for _, c := range []*x509.Certificate{b.Roots[0], b.Issuer()} {
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		require.True(t, ok, "ECDSA key, got %T", c.PublicKey)
		assert.Equal(t, elliptic.P256(), pub.Curve)
	}
}

func TestGenerateKeyRefusesAnUnknownAlgorithm(t *testing.T) {
	_, err := bundle.GenerateKey("rsa-1024")
	assert.ErrorContains(t, err, `key algorithm "rsa-1024"`)
}
