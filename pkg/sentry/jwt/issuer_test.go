package jwt_test

import (
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

var subject = spiffeid.RequireFromString("spiffe://public/ns/shop/orders")

// verify checks tok's signature against the key set and its claims at now.
func verify(t *testing.T, jwks []byte, tok string, now time.Time, opts ...jwxjwt.ValidateOption) (jwxjwt.Token, error) {
	t.Helper()
	set, err := jwk.Parse(jwks)
	require.NoError(t, err)
	parsed, err := jwxjwt.Parse([]byte(tok), jwxjwt.WithKeySet(set, jws.WithRequireKid(true)), jwxjwt.WithValidate(false))
	if err != nil {
		return nil, err
	}
	opts = append(opts, jwxjwt.WithClock(jwxjwt.ClockFunc(func() time.Time { return now })))
	return parsed, jwxjwt.Validate(parsed, opts...)
}

func newIssuer(t *testing.T, m *jwt.Material, clk *clocktesting.FakeClock, iss string, ttl time.Duration) *jwt.Issuer {
	t.Helper()
	i, err := jwt.NewIssuer(jwt.IssuerOptions{Material: m, Issuer: iss, TTL: ttl, Clock: clk})
	require.NoError(t, err)
	return i
}

func TestIssue(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, alg := range []jwa.SignatureAlgorithm{jwa.RS256, jwa.ES256} {
		t.Run(alg.String(), func(t *testing.T) {
			m := generate(t, alg, "")
			clk := clocktesting.NewFakeClock(now)
			iss := newIssuer(t, m, clk, "https://sentry.example.com", 0)
			leafNotAfter := now.Add(time.Hour)
			toks, err := iss.Issue(jwt.Request{
				Subject: subject, Audiences: []string{"public", "sts.amazonaws.com", "public", ""},
				NotAfter: leafNotAfter, ClockSkew: 15 * time.Minute,
			})
			require.NoError(t, err)

			tok, err := verify(t, iss.PublicJWKS(), toks.JWT, now, jwxjwt.WithAudience("sts.amazonaws.com"),
				jwxjwt.WithIssuer("https://sentry.example.com"), jwxjwt.WithSubject(subject.String()))
			require.NoError(t, err, "the token verifies against the published key set")
			assert.Equal(t, []string{"public", "sts.amazonaws.com"}, tok.Audience(), "duplicates and empty audiences are dropped, order kept")
			assert.Equal(t, leafNotAfter, tok.Expiration(), "exp is capped at the leaf's NotAfter")
			assert.Equal(t, now, tok.IssuedAt())
			assert.Equal(t, now.Add(-15*time.Minute), tok.NotBefore(), "nbf is backdated by the skew")
			assert.Len(t, tok.JwtID(), 32, "jti is 16 random bytes in hex")
			use, _ := tok.Get("use")
			assert.Equal(t, "sig", use)
			msg, err := jws.Parse([]byte(toks.JWT))
			require.NoError(t, err)
			assert.Equal(t, m.KeyID, msg.Signatures()[0].ProtectedHeaders().KeyID())
			assert.Equal(t, alg, msg.Signatures()[0].ProtectedHeaders().Algorithm())

			require.Len(t, toks.PerAudience, 2, "one token per audience")
			for aud, s := range toks.PerAudience {
				pt, err := verify(t, iss.PublicJWKS(), s, now, jwxjwt.WithAudience(aud))
				require.NoError(t, err)
				assert.Equal(t, []string{aud}, pt.Audience(), "a per-audience token carries one audience")
				assert.NotEqual(t, tok.JwtID(), pt.JwtID(), "each token has its own jti")
			}

			_, err = verify(t, iss.PublicJWKS(), toks.JWT, now, jwxjwt.WithAudience("someone-else"))
			require.Error(t, err, "a wrong audience fails")
			_, err = verify(t, iss.PublicJWKS(), toks.JWT, leafNotAfter.Add(time.Second))
			require.ErrorIs(t, err, jwxjwt.ErrTokenExpired(), "the token expires with the leaf")
			_, err = verify(t, generate(t, alg, m.KeyID).PublicJWKS(), toks.JWT, now)
			require.Error(t, err, "another key with the same kid does not verify it")
		})
	}
}

func TestIssueExpiry(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m := generate(t, jwa.ES256, "")
	tests := map[string]struct {
		ttl      time.Duration
		notAfter time.Time
		wantExp  time.Time
		wantErr  error
	}{
		"the TTL wins when it is sooner than the leaf":   {ttl: time.Hour, notAfter: now.Add(2 * time.Hour), wantExp: now.Add(time.Hour)},
		"the leaf wins when it is sooner than the TTL":   {ttl: 0, notAfter: now.Add(2 * time.Hour), wantExp: now.Add(2 * time.Hour)},
		"no leaf cap leaves the default TTL of 24 hours": {wantExp: now.Add(24 * time.Hour)},
		"a cap in the past is refused":                   {notAfter: now.Add(-time.Second), wantErr: jwt.ErrTooShort},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			iss := newIssuer(t, m, clocktesting.NewFakeClock(now), "", tc.ttl)
			toks, err := iss.Issue(jwt.Request{Subject: subject, Audiences: []string{"public"}, NotAfter: tc.notAfter})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantExp, toks.Expiry)
			tok, err := verify(t, m.PublicJWKS(), toks.JWT, now)
			require.NoError(t, err)
			assert.Equal(t, tc.wantExp, tok.Expiration())
			assert.Empty(t, tok.Issuer(), "no issuer configured, no iss claim")
		})
	}
}

func TestIssueRefusesEmptyRequests(t *testing.T) {
	iss := newIssuer(t, generate(t, jwa.ES256, ""), clocktesting.NewFakeClock(time.Now()), "", 0)
	_, err := iss.Issue(jwt.Request{Subject: subject, Audiences: []string{""}})
	require.ErrorIs(t, err, jwt.ErrNoAudience)
	_, err = iss.Issue(jwt.Request{Audiences: []string{"a"}})
	require.ErrorIs(t, err, jwt.ErrNoSubject)
	_, err = jwt.NewIssuer(jwt.IssuerOptions{})
	require.Error(t, err, "material is required")
}

// TestRotation walks a key rotation: both keys published, signing switched
// to the new key, tokens of the old key still verifying until they expire.
func TestRotation(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := clocktesting.NewFakeClock(now)
	old := generate(t, jwa.RS256, "")
	iss := newIssuer(t, old, clk, "", time.Hour)
	req := jwt.Request{Subject: subject, Audiences: []string{"public"}}
	oldTok, err := iss.Issue(req)
	require.NoError(t, err)

	// Phase 1: the new public key joins the set; signing stays on the old key.
	next := generate(t, jwa.ES256, "")
	both := merge(t, old.JWKSJSON, next.JWKSJSON)
	published, err := jwt.ParseMaterial(old.KeyPEM, both, jwt.ParseOptions{})
	require.NoError(t, err)
	iss.SetMaterial(published)
	assert.Equal(t, old.KeyID, iss.Material().KeyID, "still signing with the old key")
	_, err = verify(t, iss.PublicJWKS(), oldTok.JWT, now)
	require.NoError(t, err)

	// Phase 2: jwt.key switches to the new key.
	switched, err := jwt.ParseMaterial(next.KeyPEM, both, jwt.ParseOptions{})
	require.NoError(t, err)
	iss.SetMaterial(switched)
	assert.Equal(t, next.KeyID, iss.Material().KeyID)
	assert.Equal(t, "ES256", iss.Algorithm())
	clk.Step(10 * time.Minute)
	newTok, err := iss.Issue(req)
	require.NoError(t, err)
	_, err = verify(t, iss.PublicJWKS(), newTok.JWT, clk.Now())
	require.NoError(t, err, "new tokens verify")
	_, err = verify(t, iss.PublicJWKS(), oldTok.JWT, clk.Now())
	require.NoError(t, err, "tokens of the old key still verify until they expire")

	// Phase 3: once the old tokens expired, the old key leaves the set.
	retired, err := jwt.ParseMaterial(next.KeyPEM, next.JWKSJSON, jwt.ParseOptions{})
	require.NoError(t, err)
	iss.SetMaterial(retired)
	_, err = verify(t, iss.PublicJWKS(), oldTok.JWT, clk.Now())
	require.Error(t, err, "the retired key verifies nothing")
	_, err = verify(t, iss.PublicJWKS(), newTok.JWT, clk.Now())
	require.NoError(t, err)
}
