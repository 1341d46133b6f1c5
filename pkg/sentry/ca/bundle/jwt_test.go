package bundle_test

import (
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

func TestBundleJWTPart(t *testing.T) {
	b, err := bundle.Generate(bundle.GenerateOptions{
		TrustDomain: spiffeid.RequireTrustDomainFromString("example.org"), Namespace: "ns", Now: time.Now(),
	})
	require.NoError(t, err)
	m1, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwa.ES256})
	require.NoError(t, err)
	m2, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwt.DefaultAlgorithm})
	require.NoError(t, err)

	with := b.WithJWT(m1)
	assert.Nil(t, b.JWT, "WithJWT leaves the original alone")
	assert.Same(t, m1, with.JWT)
	assert.Equal(t, b.IssuerChainPEM, with.IssuerChainPEM)
	assert.False(t, b.Equal(with), "adding JWT material is a change")
	assert.False(t, with.Equal(b.WithJWT(m2)), "another JWT key is a change")
	assert.True(t, with.Equal(b.WithJWT(m1)), "the same material is no change")
}
