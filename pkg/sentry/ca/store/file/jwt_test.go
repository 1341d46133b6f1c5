package file_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/store/file"
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

func jwtStore(t testing.TB, dir string) *file.Store {
	t.Helper()
	return newStore(t, file.Options{Dir: dir, Debounce: debounce, JWT: &file.JWTOptions{}})
}

func TestJWTFiles(t *testing.T) {
	tests := map[string]func(t *testing.T, dir string, s *file.Store){
		"a bundle without JWT files loads without JWT material": func(t *testing.T, dir string, s *file.Store) {
			require.NoError(t, s.Save(generate(t)))
			b, err := s.Load()
			require.NoError(t, err)
			assert.Nil(t, b.JWT)
		},
		"SaveJWT writes both files privately and Load returns them": func(t *testing.T, dir string, s *file.Store) {
			require.NoError(t, s.Save(generate(t)))
			m := newJWT(t)
			require.NoError(t, s.SaveJWT(m))
			for _, f := range []string{"jwt.key", "jwks.json"} {
				st, err := os.Stat(filepath.Join(dir, f))
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
			}
			b, err := s.Load()
			require.NoError(t, err)
			assert.True(t, m.Equal(b.JWT))
		},
		"Save writes the JWT files of a generated bundle too": func(t *testing.T, dir string, s *file.Store) {
			m := newJWT(t)
			require.NoError(t, s.Save(generate(t).WithJWT(m)))
			b, err := s.Load()
			require.NoError(t, err)
			assert.True(t, m.Equal(b.JWT))
		},
		"SaveJWT never overwrites a key file": func(t *testing.T, dir string, s *file.Store) {
			require.NoError(t, s.Save(generate(t)))
			writeFile(t, filepath.Join(dir, "jwt.key"), []byte("mine"))
			err := s.SaveJWT(newJWT(t))
			require.ErrorIs(t, err, file.ErrExists)
			assert.Contains(t, err.Error(), "jwt.key")
			_, err = os.Stat(filepath.Join(dir, "jwks.json"))
			assert.ErrorIs(t, err, os.ErrNotExist, "nothing was written")
			data, _ := os.ReadFile(filepath.Join(dir, "jwt.key"))
			assert.Equal(t, "mine", string(data))
		},
		"a key without its key set is refused, naming both files": func(t *testing.T, dir string, s *file.Store) {
			require.NoError(t, s.Save(generate(t)))
			writeFile(t, filepath.Join(dir, "jwt.key"), newJWT(t).KeyPEM)
			_, err := s.Load()
			require.ErrorIs(t, err, file.ErrIncomplete)
			assert.Contains(t, err.Error(), filepath.Join(dir, "jwks.json")+" is missing")
			assert.Contains(t, err.Error(), filepath.Join(dir, "jwt.key")+" holds data")
		},
		"a key set without its key is refused": func(t *testing.T, dir string, s *file.Store) {
			require.NoError(t, s.Save(generate(t)))
			writeFile(t, filepath.Join(dir, "jwks.json"), newJWT(t).JWKSJSON)
			writeFile(t, filepath.Join(dir, "jwt.key"), []byte("  \n"))
			_, err := s.Load()
			require.ErrorIs(t, err, file.ErrIncomplete)
			assert.Contains(t, err.Error(), "jwt.key is empty")
		},
		"a key that is not in the key set is refused, naming jwks.json": func(t *testing.T, dir string, s *file.Store) {
			require.NoError(t, s.Save(generate(t)))
			writeFile(t, filepath.Join(dir, "jwt.key"), newJWT(t).KeyPEM)
			writeFile(t, filepath.Join(dir, "jwks.json"), newJWT(t).JWKSJSON)
			_, err := s.Load()
			require.ErrorIs(t, err, jwt.ErrKeyNotInJWKS)
			assert.Contains(t, err.Error(), "trust bundle file "+filepath.Join(dir, "jwks.json"))
		},
		"an unreadable key is refused, naming jwt.key": func(t *testing.T, dir string, s *file.Store) {
			require.NoError(t, s.Save(generate(t)))
			writeFile(t, filepath.Join(dir, "jwt.key"), []byte("not a key"))
			writeFile(t, filepath.Join(dir, "jwks.json"), newJWT(t).JWKSJSON)
			_, err := s.Load()
			require.ErrorIs(t, err, jwt.ErrMalformed)
			assert.Contains(t, err.Error(), "trust bundle file "+filepath.Join(dir, "jwt.key"))
		},
		"JWT files without X.509 files are not a bundle": func(t *testing.T, dir string, s *file.Store) {
			m := newJWT(t)
			writeFile(t, filepath.Join(dir, "jwt.key"), m.KeyPEM)
			writeFile(t, filepath.Join(dir, "jwks.json"), m.JWKSJSON)
			_, err := s.Load()
			require.ErrorIs(t, err, file.ErrNotFound)
			require.NoError(t, s.Save(generate(t)), "the CA may be generated beside them")
			b, err := s.Load()
			require.NoError(t, err)
			assert.True(t, m.Equal(b.JWT), "and the user's JWT files are kept")
		},
		"a rotation's key set and key switch are hot-reloaded": func(t *testing.T, dir string, s *file.Store) {
			old := newJWT(t)
			require.NoError(t, s.Save(generate(t).WithJWT(old)))
			w := startWatch(t, s)
			next := newJWT(t)
			renameInto(t, filepath.Join(dir, "jwks.json"), bothKeys(t, old, next))
			b := w.nextChange(t)
			require.NotNil(t, b.JWT)
			assert.Equal(t, 2, b.JWT.Keys(), "the new key is published")
			assert.Equal(t, old.KeyID, b.JWT.KeyID, "signing stays on the old key")
			renameInto(t, filepath.Join(dir, "jwt.key"), next.KeyPEM)
			b = w.nextChange(t)
			assert.Equal(t, next.KeyID, b.JWT.KeyID, "signing switched to the new key")
		},
	}
	for name, run := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			run(t, dir, jwtStore(t, dir))
		})
	}
}

func TestJWTFileNames(t *testing.T) {
	s := newStore(t, file.Options{Dir: "/creds", JWT: &file.JWTOptions{KeyFile: "/keys/signing.pem"}})
	key, jwks := s.JWTPaths()
	assert.Equal(t, "/keys/signing.pem", key, "an absolute name overrides the directory")
	assert.Equal(t, "/creds/jwks.json", jwks)
	_, err := file.New(file.Options{Dir: "/creds", JWT: &file.JWTOptions{KeyFile: "issuer.key"}})
	require.Error(t, err, "the JWT key cannot share the issuer key's file")
	off := newStore(t, file.Options{Dir: "/creds"})
	key, _ = off.JWTPaths()
	assert.Empty(t, key, "JWT is off by default")
	require.Error(t, off.SaveJWT(newJWT(t)))
}
