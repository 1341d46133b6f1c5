package sentry

import (
	"context"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/sentry/oidc"
)

// x509Store stores bundles but no JWT material.
type x509Store struct{}

func (x509Store) Load() (*bundle.Bundle, error) { return nil, bundle.ErrNotFound }
func (x509Store) Save(*bundle.Bundle) error     { return nil }
func (x509Store) Watch(context.Context, func(*bundle.Bundle), func(error)) error {
	return nil
}

// jwtCapableStore stores JWT material too.
type jwtCapableStore struct{ x509Store }

func (jwtCapableStore) SaveJWT(*jwt.Material) error { return nil }

func TestNewChecksJWTOptions(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	tests := map[string]struct {
		store   BundleStore
		jwt     *JWTOptions
		wantErr string
	}{
		"JWT off needs nothing more":                                         {store: x509Store{}},
		"JWT needs a store that can save its key":                            {store: x509Store{}, jwt: &JWTOptions{}, wantErr: "can save JWT material"},
		"JWT with a capable store is accepted":                               {store: jwtCapableStore{}, jwt: &JWTOptions{}},
		"OIDC without an issuer is accepted, as Dapr derives it per request": {store: jwtCapableStore{}, jwt: &JWTOptions{OIDC: &oidc.Options{}}},
		"OIDC with an issuer is accepted":                                    {store: jwtCapableStore{}, jwt: &JWTOptions{Issuer: "https://s.example.com", OIDC: &oidc.Options{}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(Options{TrustDomain: td, Namespace: "dapr-system", Store: tc.store, Config: config.Static(config.Default()), JWT: tc.jwt})
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}
