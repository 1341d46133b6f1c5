package jwks

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// FuzzParseKeySet feeds arbitrary bytes to the parsing of a source: the
// classification of an inline source and the JWKS parser. Neither may
// panic, and a parsed set may hold only public asymmetric signing keys.
func FuzzParseKeySet(f *testing.F) {
	k := newKey(f, jwa.ES256, "k")
	set := keySetJSON(f, k, newKey(f, jwa.RS256, "r"))
	f.Add(set)
	f.Add([]byte(base64.StdEncoding.EncodeToString(set)))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","alg":"none"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte("https://issuer.example/jwks"))
	f.Add([]byte("/etc/jwks.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseSource(string(b))
		_, _ = decodeInline(string(b))
		got, err := parseKeySet(b)
		if err != nil {
			return
		}
		if got.Len() == 0 {
			t.Fatal("a parsed key set is never empty")
		}
		for i := range got.Len() {
			key, _ := got.Key(i)
			switch key.(type) {
			case jwk.RSAPrivateKey, jwk.ECDSAPrivateKey, jwk.OKPPrivateKey, jwk.SymmetricKey:
				t.Fatalf("key %d of type %T kept", i, key)
			}
		}
	})
}

// FuzzValidateToken feeds arbitrary token strings to Validate: it may not
// panic, and no token forged without the private key may validate.
func FuzzValidateToken(f *testing.F) {
	signer := newKey(f, jwa.ES256, "k")
	forger := newKey(f, jwa.ES256, "k")
	opts, _, _ := testOptions(string(keySetJSON(f, signer)))
	v, err := New(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mint(f, forger, validClaims()))
	expired := validClaims()
	expired.exp = testNow.Add(-time.Hour)
	f.Add(mint(f, signer, expired)) // a real signature over claims that fail
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJzcGlmZmU6Ly9wdWJsaWMvbnMvZGVmYXVsdC9vcmRlcnMifQ.")
	f.Add("a.b.c")
	f.Add("..")
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Validate(t.Context(), validator.Request{HasCSR: true, AppID: "orders", Namespace: "default", Token: token})
		if err == nil {
			t.Fatalf("a token not signed by the key set validated as %s", id)
		}
	})
}
