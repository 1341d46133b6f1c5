package kubernetes_test

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

func newJWT(t testing.TB) *jwt.Material {
	t.Helper()
	m, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwa.ES256})
	require.NoError(t, err)
	return m
}

// bothKeys is a key set holding the public keys of a and b.
func bothKeys(t testing.TB, a, b *jwt.Material) []byte {
	t.Helper()
	out := jwk.NewSet()
	for _, m := range []*jwt.Material{a, b} {
		s, err := jwk.Parse(m.JWKSJSON)
		require.NoError(t, err)
		k, _ := s.Key(0)
		require.NoError(t, out.AddKey(k))
	}
	data, err := json.Marshal(out)
	require.NoError(t, err)
	return data
}

func withJWT(o *kubernetes.Options) { o.JWT = &kubernetes.JWTOptions{} }

// jwksEventually waits until the ConfigMap's jwks.json holds want keys and
// returns it.
func (f *fixture) jwksEventually(t *testing.T, keys int) jwk.Set {
	t.Helper()
	var set jwk.Set
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		cm, err := f.admin.CoreV1().ConfigMaps(f.ns).Get(t.Context(), kubernetes.DefaultConfigMapName, metav1.GetOptions{})
		require.NoError(c, err)
		set, err = jwk.Parse([]byte(cm.Data["jwks.json"]))
		require.NoError(c, err)
		assert.Equal(c, keys, set.Len())
	}, eventually, 100*time.Millisecond)
	return set
}

func jwtScenarios() map[string]func(*testing.T, *fixture) {
	return map[string]func(*testing.T, *fixture){
		"jwt: a bundle without JWT keys gets a generated pair, published in the ConfigMap, never overwritten": func(t *testing.T, f *fixture) {
			s := f.newStore(t, withJWT)
			require.NoError(t, s.Save(generate(t)))
			b, err := s.Load()
			require.NoError(t, err)
			assert.Nil(t, b.JWT)

			m := newJWT(t)
			require.NoError(t, s.SaveJWT(m))
			sec := f.secret(t)
			assert.Equal(t, m.KeyPEM, sec.Data["jwt.key"])
			assert.Equal(t, m.JWKSJSON, sec.Data["jwks.json"])
			assert.Equal(t, string(m.PublicJWKS()), f.configMap(t).Data["jwks.json"], "the public key set is published")
			assert.NotContains(t, f.configMap(t).Data, "jwt.key", "the private key is not")

			loaded, err := f.newStore(t, withJWT).Load()
			require.NoError(t, err)
			assert.True(t, m.Equal(loaded.JWT))

			err = s.SaveJWT(newJWT(t))
			require.ErrorIs(t, err, kubernetes.ErrExists)
			assert.ErrorContains(t, err, "jwt.key, jwks.json")
			f.requireUnchanged(t, sec)
		},
		"jwt: Save of a generated bundle with JWT material writes all five keys": func(t *testing.T, f *fixture) {
			s := f.newStore(t, withJWT)
			m := newJWT(t)
			require.NoError(t, s.Save(generate(t).WithJWT(m)))
			sec := f.secret(t)
			assert.Len(t, sec.Data, 5)
			f.jwksEventually(t, 1)
		},
		"jwt: a key without its key set is refused with a Warning Event and nothing written": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			data := bundleData(t, root.CertPEM(), newCA(t, root))
			data["jwt.key"] = newJWT(t).KeyPEM
			sec := f.createSecret(t, data)
			_, err := f.newStore(t, withJWT).Load()
			require.ErrorIs(t, err, kubernetes.ErrIncomplete)
			assert.ErrorContains(t, err, "key jwks.json is missing or empty")
			msg := f.event(t, corev1.EventTypeWarning, kubernetes.ReasonIncomplete)
			assert.Contains(t, msg, "jwt.key")
			f.requireUnchanged(t, sec)
		},
		"jwt: a key set without the signing key is refused, naming jwks.json": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			data := bundleData(t, root.CertPEM(), newCA(t, root))
			data["jwt.key"], data["jwks.json"] = newJWT(t).KeyPEM, newJWT(t).JWKSJSON
			sec := f.createSecret(t, data)
			_, err := f.newStore(t, withJWT).Load()
			require.ErrorIs(t, err, kubernetes.ErrInvalid)
			require.ErrorIs(t, err, jwt.ErrKeyNotInJWKS)
			assert.ErrorContains(t, err, "key jwks.json")
			f.event(t, corev1.EventTypeWarning, kubernetes.ReasonInvalid)
			f.requireUnchanged(t, sec)
		},
		"jwt: without JWT on, the JWT keys are ignored": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			data := bundleData(t, root.CertPEM(), newCA(t, root))
			data["jwt.key"] = []byte("whatever")
			f.createSecret(t, data)
			b, err := f.newStore(t).Load()
			require.NoError(t, err)
			assert.Nil(t, b.JWT)
		},
		"jwt watch: a key rotation reaches onChange and the ConfigMap publishes both keys": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			old := newJWT(t)
			data := bundleData(t, root.CertPEM(), newCA(t, root))
			data["jwt.key"], data["jwks.json"] = old.KeyPEM, old.JWKSJSON
			f.createSecret(t, data)
			s := f.newStore(t, withJWT)
			_, err := s.Load()
			require.NoError(t, err)
			w := startWatch(t, s)
			f.jwksEventually(t, 1)

			next := newJWT(t)
			data = maps.Clone(data)
			data["jwks.json"] = bothKeys(t, old, next)
			f.updateSecret(t, data)
			b := w.nextChange(t)
			assert.Equal(t, 2, b.JWT.Keys())
			assert.Equal(t, old.KeyID, b.JWT.KeyID, "still signing with the old key")
			set := f.jwksEventually(t, 2)
			_, found := set.LookupKeyID(next.KeyID)
			assert.True(t, found, "the new key is published before it signs")

			data = maps.Clone(data)
			data["jwt.key"] = next.KeyPEM
			f.updateSecret(t, data)
			b = w.nextChange(t)
			assert.Equal(t, next.KeyID, b.JWT.KeyID, "signing switched")

			data = maps.Clone(data)
			delete(data, "jwks.json")
			f.updateSecret(t, data)
			err = w.nextError(t)
			require.ErrorIs(t, err, kubernetes.ErrIncomplete, "a half-removed pair is refused; the current one keeps serving")
		},
	}
}
