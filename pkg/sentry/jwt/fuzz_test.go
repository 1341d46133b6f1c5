package jwt_test

import (
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

// FuzzParseJWKS feeds jwks.json parsing arbitrary bytes: it must never
// panic, and whatever it accepts holds public keys only.
func FuzzParseJWKS(f *testing.F) {
	m, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwa.ES256})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m.JWKSJSON)
	f.Add(m.PublicJWKS())
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","use":"enc"}]}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := jwt.ParseJWKS(data)
		if err != nil {
			return
		}
		if set.Len() == 0 {
			t.Fatal("an empty set was accepted")
		}
		for i := range set.Len() {
			k, _ := set.Key(i)
			if private, err := jwk.IsPrivateKey(k); err != nil || private {
				t.Fatalf("key %d is private or symmetric (%v)", i, err)
			}
		}
		// Material built from an accepted set must not panic either.
		_, _ = jwt.ParseMaterial(m.KeyPEM, data, jwt.ParseOptions{})
	})
}
