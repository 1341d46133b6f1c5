package jwks

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

func TestValidate(t *testing.T) {
	es := newKey(t, jwa.ES256, "es-1")
	rs := newKey(t, jwa.RS256, "rs-1")
	other := newKey(t, jwa.ES256, "es-1") // same kid, different key
	stranger := newKey(t, jwa.ES256, "unknown")
	noKid := newKey(t, jwa.ES256, "")
	opts, _, _ := testOptions(string(keySetJSON(t, es, rs)))
	v, err := New(opts)
	require.NoError(t, err)
	require.True(t, v.Ready(), "an inline source is ready after New")

	req := validator.Request{HasCSR: true, AppID: "orders", Namespace: "default"}
	with := func(mutate func(*claims)) claims {
		c := validClaims()
		mutate(&c)
		return c
	}
	unsigned := func(header string, c claims) string {
		tok, err := jwt.NewBuilder().Subject(c.sub).Audience(c.aud).Expiration(c.exp).Build()
		require.NoError(t, err)
		payload, err := jwt.NewSerializer().Serialize(tok)
		require.NoError(t, err)
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(header)) + "." + enc(payload) + "."
	}

	tests := map[string]struct {
		token   string
		req     validator.Request
		want    string
		wantErr error
		errText string
	}{
		"a valid ES256 token proves the requested identity": {
			token: mint(t, es, validClaims()), want: testSubject,
		},
		"a valid RS256 token proves the requested identity": {
			token: mint(t, rs, validClaims()), want: testSubject,
		},
		"an audience list that contains Sentry's ID is accepted": {
			token: mint(t, es, with(func(c *claims) { c.aud = []string{"other", testSentryID.String()} })),
			want:  testSubject,
		},
		"a token without kid verifies with any key of the set": {
			token: mint(t, testKey{alg: jwa.ES256, priv: withoutKid(t, es.priv)}, validClaims()),
			want:  testSubject,
		},
		"a token for another trust domain proves that one": {
			token: mint(t, es, with(func(c *claims) { c.sub = "spiffe://example.org/ns/default/orders" })),
			req:   validator.Request{HasCSR: true, AppID: "orders", Namespace: "default", TrustDomain: "example.org"},
			want:  "spiffe://example.org/ns/default/orders",
		},
		"a token expired within the allowed skew is accepted": {
			token: mint(t, es, with(func(c *claims) { c.exp = testNow.Add(-4 * time.Minute) })),
			want:  testSubject,
		},
		"a token not yet valid within the allowed skew is accepted": {
			token: mint(t, es, with(func(c *claims) { c.nbf, c.iat = testNow.Add(4*time.Minute), testNow.Add(4*time.Minute) })),
			want:  testSubject,
		},
		"a wrong audience is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.aud = []string{"spiffe://cluster.local/ns/other/dapr-sentry"} })),
			wantErr: ErrInvalidToken, errText: "audience",
		},
		"a missing audience is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.aud = nil })),
			wantErr: ErrInvalidToken, errText: "audience",
		},
		"a subject with another app ID is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.sub = "spiffe://public/ns/default/payments" })),
			wantErr: ErrInvalidToken, errText: "subject",
		},
		"a subject in another namespace is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.sub = "spiffe://public/ns/prod/orders" })),
			wantErr: ErrInvalidToken, errText: "subject",
		},
		"a subject in another trust domain is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.sub = "spiffe://example.org/ns/default/orders" })),
			wantErr: ErrInvalidToken, errText: "subject",
		},
		"a request for another trust domain is rejected": {
			token:   mint(t, es, validClaims()),
			req:     validator.Request{HasCSR: true, AppID: "orders", Namespace: "default", TrustDomain: "example.org"},
			wantErr: ErrInvalidToken, errText: "subject",
		},
		"a token expired beyond the allowed skew is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.exp = testNow.Add(-6 * time.Minute) })),
			wantErr: ErrInvalidToken, errText: "expired",
		},
		"a token not yet valid beyond the allowed skew is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.nbf = testNow.Add(6 * time.Minute) })),
			wantErr: ErrInvalidToken, errText: "not valid before",
		},
		"a token issued in the future beyond the allowed skew is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.iat = testNow.Add(6 * time.Minute) })),
			wantErr: ErrInvalidToken, errText: "issued in the future",
		},
		"a token without exp is rejected": {
			token:   mint(t, es, with(func(c *claims) { c.exp = time.Time{} })),
			wantErr: ErrInvalidToken, errText: `no "exp"`,
		},
		"a token signed by another key with a known kid is rejected": {
			token:   mint(t, other, validClaims()),
			wantErr: ErrInvalidToken, errText: "verify signature",
		},
		"a token naming one key of the set but signed by another is rejected": {
			token:   mint(t, testKey{alg: jwa.ES256, priv: withKid(t, es.priv, "rs-1")}, validClaims()),
			wantErr: ErrInvalidToken, errText: `kid "rs-1"`,
		},
		"a token with an unknown kid is rejected": {
			token:   mint(t, stranger, validClaims()),
			wantErr: ErrInvalidToken, errText: `"unknown"`,
		},
		"a token without kid signed by no key of the set is rejected": {
			token:   mint(t, noKid, validClaims()),
			wantErr: ErrInvalidToken, errText: "no kid",
		},
		"an alg none token is rejected": {
			token:   unsigned(`{"alg":"none","typ":"JWT"}`, validClaims()),
			wantErr: ErrInvalidToken,
		},
		"an alg none token naming a known kid is rejected": {
			token:   unsigned(`{"alg":"none","kid":"es-1"}`, validClaims()),
			wantErr: ErrInvalidToken,
		},
		"an HS256 token naming an RSA key's kid is rejected": {
			token:   mint(t, testKey{alg: jwa.HS256, priv: hmacKey(t, "rs-1")}, validClaims()),
			wantErr: ErrInvalidToken, errText: "verify signature",
		},
		"a malformed token is rejected": {
			token: "not.a.jwt", wantErr: ErrInvalidToken, errText: "parse token",
		},
		"an empty token is rejected": {
			token: "", wantErr: ErrNoToken,
		},
		"an app ID with a dot is rejected before the token is looked at": {
			token:   mint(t, es, validClaims()),
			req:     validator.Request{HasCSR: true, AppID: "orders.v1", Namespace: "default"},
			wantErr: ErrInvalidRequest, errText: "parameter app-id cannot contain dots",
		},
		"an empty namespace is rejected": {
			token:   mint(t, es, validClaims()),
			req:     validator.Request{HasCSR: true, AppID: "orders"},
			wantErr: ErrInvalidRequest,
		},
		"a malformed trust domain is rejected": {
			token:   mint(t, es, validClaims()),
			req:     validator.Request{HasCSR: true, AppID: "orders", Namespace: "default", TrustDomain: "Bad Domain"},
			wantErr: ErrInvalidRequest, errText: "trust domain",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := req
			if tc.req != (validator.Request{}) {
				r = tc.req
			}
			r.Token = tc.token
			id, err := v.Validate(t.Context(), r)
			if tc.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, id.String())
				return
			}
			require.Error(t, err)
			assert.True(t, id.IsZero())
			assert.ErrorIs(t, err, tc.wantErr)
			assert.Contains(t, err.Error(), tc.errText)
			if tc.token != "" {
				assert.NotContains(t, err.Error(), tc.token, "errors never carry the token")
			}
			msg := validator.PublicMessage(err)
			assert.NotEqual(t, "permission denied", msg, "every refusal has Dapr's reason")
			if errors.Is(err, ErrInvalidToken) {
				assert.True(t, strings.HasPrefix(msg, "token validation failed: "), msg)
			}
			for _, part := range strings.Split(tc.token, ".") {
				if len(part) > 8 {
					assert.NotContains(t, msg, part, "the caller's message carries nothing of the token")
				}
			}
		})
	}
}

func TestValidateNotReady(t *testing.T) {
	opts, _, _ := testOptions(t.TempDir() + "/jwks.json")
	v, err := New(opts)
	require.NoError(t, err)
	assert.False(t, v.Ready())

	_, err = v.Validate(t.Context(), validator.Request{HasCSR: true, AppID: "orders", Namespace: "default", Token: "x.y.z"})
	require.ErrorIs(t, err, ErrNotReady)
	assert.EqualError(t, err, "jwks validator not ready")
}

func TestValidateUsesTheInjectedClock(t *testing.T) {
	k := newKey(t, jwa.ES256, "k")
	opts, fc, _ := testOptions(string(keySetJSON(t, k)))
	opts.AllowedClockSkew = time.Second
	v, err := New(opts)
	require.NoError(t, err)
	req := validator.Request{HasCSR: true, AppID: "orders", Namespace: "default", Token: mint(t, k, validClaims())}

	_, err = v.Validate(t.Context(), req)
	require.NoError(t, err)

	fc.Step(time.Hour + 2*time.Second)
	_, err = v.Validate(t.Context(), req)
	require.ErrorIs(t, err, ErrInvalidToken)
	assert.Contains(t, err.Error(), "expired")
}

// withoutKid returns a copy of key with no "kid".
func withoutKid(t *testing.T, key jwk.Key) jwk.Key {
	t.Helper()
	c, err := key.Clone()
	require.NoError(t, err)
	require.NoError(t, c.Remove(jwk.KeyIDKey))
	return c
}

// withKid returns a copy of key named kid.
func withKid(t *testing.T, key jwk.Key, kid string) jwk.Key {
	t.Helper()
	c, err := key.Clone()
	require.NoError(t, err)
	require.NoError(t, c.Set(jwk.KeyIDKey, kid))
	return c
}

// hmacKey is a symmetric key named kid.
func hmacKey(t *testing.T, kid string) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw([]byte("a shared secret that is long enough"))
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, kid))
	return k
}
