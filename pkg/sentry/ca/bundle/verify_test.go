package bundle_test

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

func TestVerify(t *testing.T) {
	// The root is valid t0-1y .. t0+1y; the issuers are narrower.
	root := newCert(t, nil, nil)
	issuer := newCert(t, root, nil, notBefore(t0.Add(-day)), notAfter(t0.Add(30*day)), maxPathLen(0))
	oldRoot := newCert(t, nil, nil, notBefore(t0.Add(-400*day)), notAfter(t0.Add(-10*day)))
	futureRoot := newCert(t, nil, nil, notBefore(t0.Add(10*day)), notAfter(t0.Add(400*day)))
	strictRoot := newCert(t, nil, nil, maxPathLen(0))
	mid := newCert(t, strictRoot, nil)
	low := newCert(t, mid, nil, maxPathLen(0))

	parse := func(roots []*testCA, chain []*testCA, key *testCA) *bundle.Bundle {
		b, err := bundle.Parse(certPEM(roots...), certPEM(chain...), keyPEM(t, key))
		require.NoError(t, err)
		return b
	}

	tests := map[string]struct {
		b    *bundle.Bundle
		now  time.Time
		part bundle.Part
		is   error
		msg  string
	}{
		"a bundle inside every validity period verifies": {
			b: parse([]*testCA{root}, []*testCA{issuer}, issuer), now: t0,
		},
		"a bundle verifies on the issuer's last second": {
			b: parse([]*testCA{root}, []*testCA{issuer}, issuer), now: t0.Add(30 * day),
		},
		"an expired issuer is refused with its NotAfter": {
			b: parse([]*testCA{root}, []*testCA{issuer}, issuer), now: t0.Add(31 * day),
			part: bundle.PartIssuer, is: bundle.ErrExpired,
			msg: "issuer: certificate has expired: certificate 1 (O=" + issuer.cert.Subject.Organization[0] + ") expired at " +
				t0.Add(30*day).Format(time.RFC3339),
		},
		"an issuer not valid yet is refused": {
			b: parse([]*testCA{root}, []*testCA{issuer}, issuer), now: t0.Add(-2 * day),
			part: bundle.PartIssuer, is: bundle.ErrNotYetValid, msg: "is valid only from " + t0.Add(-day).Format(time.RFC3339),
		},
		"an expired root is refused with its NotAfter": {
			b: parse([]*testCA{root}, []*testCA{issuer}, issuer), now: t0.Add(366 * day),
			part: bundle.PartRoots, is: bundle.ErrExpired, msg: "expired at " + t0.Add(365*day).Format(time.RFC3339),
		},
		"an expired root beside the issuer's own is no reason to stop": {
			b: parse([]*testCA{root, oldRoot}, []*testCA{issuer}, issuer), now: t0,
		},
		"a root not valid yet beside the issuer's own is accepted": {
			b: parse([]*testCA{futureRoot, root}, []*testCA{issuer}, issuer), now: t0,
		},
		"a chain longer than the root allows does not verify": {
			b: parse([]*testCA{strictRoot}, []*testCA{low, mid}, low), now: t0,
			part: bundle.PartIssuer, is: bundle.ErrNotChained, msg: "does not verify to the roots",
		},
		"a hand-built bundle with another key is refused": {
			b: func() *bundle.Bundle {
				b := parse([]*testCA{root}, []*testCA{issuer}, issuer)
				b.IssuerKey = newKey(t)
				return b
			}(),
			now: t0, part: bundle.PartKey, is: bundle.ErrKeyMismatch, msg: "key: private key does not match",
		},
		"a hand-built bundle without roots is refused": {
			b:   &bundle.Bundle{IssuerChain: []*x509.Certificate{issuer.cert}, IssuerKey: issuer.key},
			now: t0, part: bundle.PartRoots, msg: "no root certificate",
		},
		"a hand-built bundle without an issuer is refused": {
			b:   &bundle.Bundle{Roots: []*x509.Certificate{root.cert}, IssuerKey: issuer.key},
			now: t0, part: bundle.PartIssuer, msg: "no issuer certificate",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.b.Verify(tc.now)
			if tc.part == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var be *bundle.Error
			require.True(t, errors.As(err, &be), "a *bundle.Error, got %T", err)
			assert.Equal(t, tc.part, be.Part)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestExpiredRoots(t *testing.T) {
	root := newCert(t, nil, nil)
	issuer := newCert(t, root, nil, notBefore(t0.Add(-day)), notAfter(t0.Add(30*day)), maxPathLen(0))
	oldRoot := newCert(t, nil, nil, notBefore(t0.Add(-400*day)), notAfter(t0.Add(-10*day)))
	b, err := bundle.Parse(certPEM(root, oldRoot), certPEM(issuer), keyPEM(t, issuer))
	require.NoError(t, err)
	require.NoError(t, b.Verify(t0))
	expired := b.ExpiredRoots(t0)
	require.Len(t, expired, 1)
	assert.Equal(t, oldRoot.cert.Raw, expired[0].Raw)
}

func TestVerifyRefusesNoBundle(t *testing.T) {
	var b *bundle.Bundle
	require.Error(t, b.Verify(t0))
	assert.Nil(t, b.Issuer())
}

func TestRootPoolHoldsEveryRoot(t *testing.T) {
	a, c := newCert(t, nil, nil), newCert(t, nil, nil)
	issuer := newCert(t, c, nil)
	b, err := bundle.Parse(certPEM(a, c), certPEM(issuer), keyPEM(t, issuer))
	require.NoError(t, err)
	for _, r := range []*testCA{a, c} {
		_, err := r.cert.Verify(x509.VerifyOptions{Roots: b.RootPool(), CurrentTime: t0})
		assert.NoError(t, err)
	}
	_, err = newCert(t, nil, nil).cert.Verify(x509.VerifyOptions{Roots: b.RootPool(), CurrentTime: t0})
	assert.Error(t, err, "a stranger is not in the pool")
}

func TestEqual(t *testing.T) {
	root := newCert(t, nil, nil)
	i1, i2 := newCert(t, root, nil), newCert(t, root, nil)
	b1, err := bundle.Parse(certPEM(root), certPEM(i1), keyPEM(t, i1))
	require.NoError(t, err)
	same, err := bundle.Parse(certPEM(root), certPEM(i1, root), sec1PEM(t, i1))
	require.NoError(t, err)
	b2, err := bundle.Parse(certPEM(root), certPEM(i2), keyPEM(t, i2))
	require.NoError(t, err)

	assert.True(t, b1.Equal(same), "same certificates, another key encoding")
	assert.False(t, b1.Equal(b2), "another issuer")
	assert.False(t, b1.Equal(nil))
	assert.True(t, (*bundle.Bundle)(nil).Equal(nil))
}
