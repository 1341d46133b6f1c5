package jwks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	clocktesting "k8s.io/utils/clock/testing"
)

// Fixed test identities and times.
var (
	testSentryID = spiffeid.RequireFromString("spiffe://cluster.local/ns/dapr-system/dapr-sentry")
	testNow      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

const testSubject = "spiffe://public/ns/default/orders"

// testKey is a private signing key with its algorithm.
type testKey struct {
	alg  jwa.SignatureAlgorithm
	priv jwk.Key
}

// newKey generates an ES256 or RS256 key; kid may be empty.
func newKey(t testing.TB, alg jwa.SignatureAlgorithm, kid string) testKey {
	t.Helper()
	var raw any
	var err error
	switch alg {
	case jwa.ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.RS256:
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("unsupported test algorithm %s", alg)
	}
	require.NoError(t, err)
	priv, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	if kid != "" {
		require.NoError(t, priv.Set(jwk.KeyIDKey, kid))
	}
	return testKey{alg: alg, priv: priv}
}

// keySetJSON is the public JWKS of keys, without "alg" so that the
// validator has to infer it.
func keySetJSON(t testing.TB, keys ...testKey) []byte {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.priv.PublicKey()
		require.NoError(t, err)
		require.NoError(t, set.AddKey(pub))
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b
}

// claims are the claims of a test token; zero times are left out.
type claims struct {
	sub      string
	aud      []string
	exp      time.Time
	nbf, iat time.Time
}

// validClaims are claims that testSubject's token carries at testNow.
func validClaims() claims {
	return claims{
		sub: testSubject,
		aud: []string{testSentryID.String()},
		exp: testNow.Add(time.Hour),
		iat: testNow.Add(-time.Minute),
		nbf: testNow.Add(-time.Minute),
	}
}

// mint signs c with k.
func mint(t testing.TB, k testKey, c claims) string {
	t.Helper()
	b := jwt.NewBuilder().Subject(c.sub).Audience(c.aud)
	if !c.exp.IsZero() {
		b = b.Expiration(c.exp)
	}
	if !c.nbf.IsZero() {
		b = b.NotBefore(c.nbf)
	}
	if !c.iat.IsZero() {
		b = b.IssuedAt(c.iat)
	}
	tok, err := b.Build()
	require.NoError(t, err)
	signed, err := jwt.Sign(tok, jwt.WithKey(k.alg, k.priv))
	require.NoError(t, err)
	return string(signed)
}

// testOptions returns Options with a fake clock at testNow and an observed
// logger.
func testOptions(source string) (Options, *clocktesting.FakeClock, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	fc := clocktesting.NewFakeClock(testNow)
	return Options{SentryID: testSentryID, Source: source, Clock: fc, Logger: zap.New(core)}, fc, logs
}
