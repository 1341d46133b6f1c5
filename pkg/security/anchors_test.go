package security

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func bundleHas(t *testing.T, c *Client, cas ...*testCA) func() bool {
	return func() bool {
		b, err := c.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString("public"))
		require.NoError(t, err)
		if len(b.X509Authorities()) != len(cas) {
			return false
		}
		for _, ca := range cas {
			if !b.HasX509Authority(ca.root) {
				return false
			}
		}
		return true
	}
}

func TestAnchorsFileIsReloaded(t *testing.T) {
	env := newTestEnv(t)
	env.sentry.setTrustChain(nil) // only the file counts here
	next := newTestCA(t, "next")
	path := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(path, env.ca.rootPEM, 0o600))
	opts := env.options(t, "app-a")
	opts.TrustAnchors, opts.TrustAnchorsFile = nil, path
	c := readyClient(t, opts)
	require.True(t, bundleHas(t, c, env.ca)())

	// A rotation adds the next root, by symlink-style replacement.
	writeFileAtomic(t, path, append(env.ca.rootPEM, next.rootPEM...))
	require.Eventually(t, bundleHas(t, c, env.ca, next), 5*time.Second, 5*time.Millisecond)

	// A broken file is ignored, the anchors stay.
	require.NoError(t, os.WriteFile(path, []byte("not PEM"), 0o600))
	assert.Never(t, bundleHas(t, c, env.ca), 200*time.Millisecond, 10*time.Millisecond)
	assert.True(t, bundleHas(t, c, env.ca, next)())

	// A rewrite in place is picked up too.
	require.NoError(t, os.WriteFile(path, env.ca.rootPEM, 0o600))
	require.Eventually(t, bundleHas(t, c, env.ca), 5*time.Second, 5*time.Millisecond)
}

func TestResponseAnchorsUpdateBundle(t *testing.T) {
	env := newTestEnv(t)
	next := newTestCA(t, "next")
	env.sentry.setTrustChain([][]byte{append(env.ca.rootPEM, next.rootPEM...)})
	c := readyClient(t, env.options(t, "app-a"))
	assert.True(t, bundleHas(t, c, env.ca, next)(), "sentry's anchors are added")

	// The next answer drops the extra root: it leaves the bundle, but the
	// configured root stays even though sentry no longer names it.
	env.sentry.setTrustChain([][]byte{next.rootPEM})
	waitTimer(t, env.clock)
	env.clock.Step(31 * time.Minute)
	require.Eventually(t, func() bool { return env.sentry.requestCount() == 2 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, bundleHas(t, c, env.ca, next), 5*time.Second, time.Millisecond)

	env.sentry.setTrustChain([][]byte{env.ca.rootPEM})
	waitTimer(t, env.clock)
	env.clock.Step(31 * time.Minute)
	require.Eventually(t, bundleHas(t, c, env.ca), 5*time.Second, time.Millisecond)
}

func TestAnchorsChangeRenewsAnSVIDThatNoLongerChains(t *testing.T) {
	env := newTestEnv(t)
	env.sentry.setTrustChain(nil)
	core, logs := observer.New(zap.InfoLevel)
	path := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(path, env.ca.rootPEM, 0o600))
	opts := env.options(t, "app-a")
	opts.TrustAnchors, opts.TrustAnchorsFile, opts.Logger = nil, path, zap.New(core)
	c := readyClient(t, opts)
	waitTimer(t, env.clock)

	// Still chains: nothing to do.
	c.anchorsChanged()
	assert.Empty(t, c.renewNow)

	// The old root is gone from the file: renew without waiting for the
	// clock (the attempt fails here, since Sentry's own certificate is from
	// the old root too, but it is made at once).
	writeFileAtomic(t, path, newTestCA(t, "next").rootPEM)
	require.Eventually(t, func() bool {
		return logs.FilterMessage("Cannot renew workload identity, keeping the current one and retrying").Len() == 1
	}, 5*time.Second, time.Millisecond)
	assert.Equal(t, 1, logs.FilterMessage("Workload identity does not chain to the new trust anchors, renewing now").Len())
}

func TestParseAnchors(t *testing.T) {
	ca := newTestCA(t, "a")
	other := newTestCA(t, "b")
	leaf := ca.leaf(t, spiffeid.RequireFromString("spiffe://public/ns/default/x"), newTestKey(t).Public(),
		time.Now(), time.Now().Add(time.Hour))
	tests := map[string]struct {
		in      []byte
		want    int
		wantErr string
	}{
		"one root parses":                   {in: ca.rootPEM, want: 1},
		"two roots with text around parse":  {in: append(append([]byte("# roots\n"), ca.rootPEM...), other.rootPEM...), want: 2},
		"an intermediate CA is accepted":    {in: pemCert(ca.issuer), want: 1},
		"empty input is rejected":           {in: nil, wantErr: "no PEM certificate found"},
		"a leaf is rejected":                {in: pemCert(leaf), wantErr: "is not a CA"},
		"a private key block is rejected":   {in: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), wantErr: `type "PRIVATE KEY"`},
		"a corrupt certificate is rejected": {in: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), wantErr: "parse certificate 0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseAnchors(tc.in)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalidAnchors)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, got, tc.want)
		})
	}
}

func TestNewRejectsBadAnchorsFile(t *testing.T) {
	env := newTestEnv(t)
	opts := env.options(t, "app-a")
	opts.TrustAnchors, opts.TrustAnchorsFile = nil, filepath.Join(t.TempDir(), "missing.crt")
	_, err := New(opts)
	require.ErrorIs(t, err, ErrInvalidOptions)
	assert.Contains(t, err.Error(), "missing.crt")
}
