package jwt_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

// generate makes material or fails the test.
func generate(t *testing.T, alg jwa.SignatureAlgorithm, kid string) *jwt.Material {
	t.Helper()
	m, err := jwt.Generate(jwt.GenerateOptions{Algorithm: alg, KeyID: kid})
	require.NoError(t, err)
	return m
}

// merge returns a key set holding the keys of every set given.
func merge(t *testing.T, sets ...[]byte) []byte {
	t.Helper()
	out := jwk.NewSet()
	for _, s := range sets {
		parsed, err := jwk.Parse(s)
		require.NoError(t, err)
		for i := range parsed.Len() {
			k, _ := parsed.Key(i)
			require.NoError(t, out.AddKey(k))
		}
	}
	data, err := json.Marshal(out)
	require.NoError(t, err)
	return data
}

func TestGenerate(t *testing.T) {
	tests := map[string]struct {
		alg     jwa.SignatureAlgorithm
		wantAlg jwa.SignatureAlgorithm
		keyType string
	}{
		"the default is RS256 with an RSA-2048 key, as Dapr": {alg: "", wantAlg: jwa.RS256, keyType: "RSA"},
		"ES256 gives a P-256 key":                            {alg: jwa.ES256, wantAlg: jwa.ES256, keyType: "EC"},
		"EdDSA gives an Ed25519 key":                         {alg: jwa.EdDSA, wantAlg: jwa.EdDSA, keyType: "OKP"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := generate(t, tc.alg, "")
			assert.Equal(t, tc.wantAlg, m.Algorithm)
			block, _ := pem.Decode(m.KeyPEM)
			require.NotNil(t, block)
			assert.Equal(t, "PRIVATE KEY", block.Type, "jwt.key is PKCS#8")
			set, err := jwk.Parse(m.JWKSJSON)
			require.NoError(t, err)
			require.Equal(t, 1, set.Len())
			k, _ := set.Key(0)
			assert.Equal(t, tc.keyType, k.KeyType().String())
			assert.Equal(t, "sig", k.KeyUsage())
			assert.Equal(t, tc.wantAlg.String(), k.Algorithm().String())
			tp, err := jwt.Thumbprint(k)
			require.NoError(t, err)
			assert.Equal(t, tp, k.KeyID(), "the default kid is the thumbprint")
			assert.Equal(t, tp, m.KeyID)
			assert.NotContains(t, tp, "=", "the kid is unpadded base64url")
			assert.False(t, strings.ContainsAny(tp, "+/"), "the kid is URL-safe")
			assert.NotContains(t, string(m.PublicJWKS()), `"d"`, "the published set has no private member")
		})
	}
	t.Run("a chosen key ID is used", func(t *testing.T) {
		m := generate(t, jwa.ES256, "my-key")
		assert.Equal(t, "my-key", m.KeyID)
	})
	t.Run("an unknown algorithm is refused", func(t *testing.T) {
		_, err := jwt.Generate(jwt.GenerateOptions{Algorithm: "HS256"})
		require.ErrorIs(t, err, jwt.ErrAlgorithm)
	})
}

func TestParseMaterial(t *testing.T) {
	rs := generate(t, jwa.RS256, "")
	es := generate(t, jwa.ES256, "es-key")
	other := generate(t, jwa.ES256, "other")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)})
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	require.NoError(t, err)
	sec1PEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	jwksOf := func(pub any, kid string) []byte {
		k, err := jwk.FromRaw(pub)
		require.NoError(t, err)
		if kid != "" {
			require.NoError(t, k.Set(jwk.KeyIDKey, kid))
		}
		set := jwk.NewSet()
		require.NoError(t, set.AddKey(k))
		data, err := json.Marshal(set)
		require.NoError(t, err)
		return data
	}
	privateSet := func() []byte {
		k, err := jwk.FromRaw(ecKey)
		require.NoError(t, err)
		set := jwk.NewSet()
		require.NoError(t, set.AddKey(k))
		data, err := json.Marshal(set)
		require.NoError(t, err)
		return data
	}()

	tests := map[string]struct {
		key, jwks []byte
		opts      jwt.ParseOptions
		wantErr   error
		wantPart  jwt.Part
		check     func(t *testing.T, m *jwt.Material)
	}{
		"a generated pair parses back": {key: rs.KeyPEM, jwks: rs.JWKSJSON, check: func(t *testing.T, m *jwt.Material) {
			assert.Equal(t, rs.KeyID, m.KeyID)
			assert.Equal(t, jwa.RS256, m.Algorithm)
		}},
		"a key set with two keys picks the entry of jwt.key": {key: es.KeyPEM, jwks: merge(t, rs.JWKSJSON, es.JWKSJSON), check: func(t *testing.T, m *jwt.Material) {
			assert.Equal(t, "es-key", m.KeyID)
			assert.Equal(t, jwa.ES256, m.Algorithm, "the entry's alg is used")
			assert.Equal(t, 2, m.Keys())
		}},
		"a required key ID that names jwt.key's entry is accepted": {key: es.KeyPEM, jwks: merge(t, rs.JWKSJSON, es.JWKSJSON), opts: jwt.ParseOptions{KeyID: "es-key"}},
		"a PKCS#1 RSA key without alg in its entry signs RS256":    {key: pkcs1, jwks: jwksOf(&rsaKey.PublicKey, "r"), check: func(t *testing.T, m *jwt.Material) { assert.Equal(t, jwa.RS256, m.Algorithm) }},
		"a SEC1 EC key without kid signs without kid": {key: sec1PEM, jwks: jwksOf(&ecKey.PublicKey, ""), check: func(t *testing.T, m *jwt.Material) {
			assert.Empty(t, m.KeyID)
			assert.Equal(t, jwa.ES256, m.Algorithm)
		}},
		"a key not in the key set is refused, naming jwks":      {key: es.KeyPEM, jwks: other.JWKSJSON, wantErr: jwt.ErrKeyNotInJWKS, wantPart: jwt.PartJWKS},
		"a required key ID absent from the set is refused":      {key: es.KeyPEM, jwks: es.JWKSJSON, opts: jwt.ParseOptions{KeyID: "nope"}, wantErr: jwt.ErrKeyNotInJWKS, wantPart: jwt.PartJWKS},
		"a required key ID on another key is refused":           {key: es.KeyPEM, jwks: merge(t, es.JWKSJSON, other.JWKSJSON), opts: jwt.ParseOptions{KeyID: "other"}, wantErr: jwt.ErrKeyNotInJWKS, wantPart: jwt.PartJWKS},
		"an algorithm other than the entry's is refused":        {key: es.KeyPEM, jwks: es.JWKSJSON, opts: jwt.ParseOptions{Algorithm: jwa.ES384}, wantErr: jwt.ErrAlgorithm, wantPart: jwt.PartJWKS},
		"RS256 on an EC key is refused, naming the key":         {key: sec1PEM, jwks: jwksOf(&ecKey.PublicKey, ""), opts: jwt.ParseOptions{Algorithm: jwa.RS256}, wantErr: jwt.ErrAlgorithm, wantPart: jwt.PartKey},
		"an RSA key under 2048 bits is refused":                 {key: smallPEM, jwks: jwksOf(&small.PublicKey, ""), wantErr: jwt.ErrAlgorithm, wantPart: jwt.PartKey},
		"a key set holding a private key is refused":            {key: sec1PEM, jwks: privateSet, wantErr: jwt.ErrPrivateKeyInJWKS, wantPart: jwt.PartJWKS},
		"a key file holding a certificate is refused":           {key: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), jwks: es.JWKSJSON, wantErr: jwt.ErrMalformed, wantPart: jwt.PartKey},
		"a key file with two keys is refused":                   {key: append(append([]byte{}, es.KeyPEM...), rs.KeyPEM...), jwks: es.JWKSJSON, wantErr: jwt.ErrMalformed, wantPart: jwt.PartKey},
		"a key set that is not JSON is refused":                 {key: es.KeyPEM, jwks: []byte("keys: []"), wantErr: jwt.ErrMalformed, wantPart: jwt.PartJWKS},
		"a single JWK instead of a set is refused":              {key: es.KeyPEM, jwks: []byte(`{"kty":"EC"}`), wantErr: jwt.ErrMalformed, wantPart: jwt.PartJWKS},
		"an empty key set is refused":                           {key: es.KeyPEM, jwks: []byte(`{"keys":[]}`), wantErr: jwt.ErrMalformed, wantPart: jwt.PartJWKS},
		"an encryption-only entry does not count as the signer": {key: sec1PEM, jwks: []byte(strings.Replace(string(jwksOf(&ecKey.PublicKey, "e")), `"kty"`, `"use":"enc","kty"`, 1)), wantErr: jwt.ErrKeyNotInJWKS},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := jwt.ParseMaterial(tc.key, tc.jwks, tc.opts)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				if tc.wantPart != "" {
					var je *jwt.Error
					require.ErrorAs(t, err, &je)
					assert.Equal(t, tc.wantPart, je.Part)
				}
				return
			}
			require.NoError(t, err)
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func TestMaterialEqual(t *testing.T) {
	a := generate(t, jwa.ES256, "")
	b := generate(t, jwa.ES256, "")
	again, err := jwt.ParseMaterial(a.KeyPEM, a.JWKSJSON, jwt.ParseOptions{})
	require.NoError(t, err)
	assert.True(t, a.Equal(again), "the same bytes are equal")
	assert.False(t, a.Equal(b), "other keys differ")
	assert.False(t, a.Equal(nil))
	assert.True(t, (*jwt.Material)(nil).Equal(nil))
}
