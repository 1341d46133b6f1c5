package security

import (
	"net"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

// FuzzParseAnchors feeds arbitrary bytes to the anchors parser, which reads
// files, environment variables and Sentry's answers: it must never panic and
// must return CA certificates or an error.
func FuzzParseAnchors(f *testing.F) {
	ca := newTestCA(f, "fuzz")
	f.Add(ca.rootPEM)
	f.Add(pemCert(ca.root, ca.issuer))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, raw []byte) {
		certs, err := parseAnchors(raw)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidAnchors)
			return
		}
		require.NotEmpty(t, certs)
		for _, c := range certs {
			require.True(t, c.IsCA)
		}
	})
}

// FuzzCheckResponse feeds arbitrary workload and trust chain bytes to the
// response check: only a chain for our key, app and anchors may pass.
func FuzzCheckResponse(f *testing.F) {
	ca := newTestCA(f, "fuzz")
	key := newTestKey(f)
	now := time.Now()
	leaf := ca.leaf(f, spiffeid.RequireFromString("spiffe://public/ns/default/app"), key.Public(), now, now.Add(time.Hour))
	f.Add(pemCert(leaf, ca.issuer), ca.rootPEM)
	f.Add(pemCert(leaf), []byte{})
	f.Add([]byte("garbage"), []byte("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"))
	c, err := New(Options{
		SentryAddress: "localhost:1", SentryID: testSentryID, TrustAnchors: ca.rootPEM,
		AppID: "app", Namespace: "default",
	})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, workload, chain []byte) {
		resp := &sentryv1.SignCertificateResponse{WorkloadCertificate: workload}
		if len(chain) > 0 {
			resp.TrustChainCertificates = [][]byte{chain}
		}
		got, err := c.checkResponse(resp, key)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidResponse)
			return
		}
		require.Equal(t, "spiffe://public/ns/default/app", got.svid.ID.String())
	})
}

// FuzzSentryAddress checks the address normaliser never panics and returns
// a host:port or an error.
func FuzzSentryAddress(f *testing.F) {
	for _, s := range []string{"", "sentry", "sentry:443", "[::1]", "::1", "a/b", "h:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, err := sentryAddress(s)
		if err != nil {
			return
		}
		_, _, err = net.SplitHostPort(addr)
		require.NoError(t, err, "result %q", addr)
	})
}
