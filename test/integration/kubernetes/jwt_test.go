package kubernetes

import (
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
)

func TestSentryStoresAJWTKeyInTheSecretAndPublishesTheKeySet(t *testing.T) {
	c := newCluster(t)
	p := sentryproc.Start(t, sentryBin, c.sentryOptions(t, "--jwt-enabled", "--jwt-signing-algorithm", "ES256", "--jwt-issuer", "https://sentry.example.com"))

	s := c.secret(t)
	require.NotEmpty(t, s.Data["jwt.key"], "the generated key is stored in the Secret")
	require.NotEmpty(t, s.Data["jwks.json"])
	m, err := jwt.ParseMaterial(s.Data["jwt.key"], s.Data["jwks.json"], jwt.ParseOptions{})
	require.NoError(t, err)
	assert.Equal(t, "ES256", m.Algorithm.String())

	cm, err := c.Client.CoreV1().ConfigMaps(sentryNS).Get(cctx(t), bundleName, metav1.GetOptions{})
	require.NoError(t, err)
	published := []byte(cm.Data["jwks.json"])
	require.NotEmpty(t, published, "the ConfigMap publishes the key set")
	assert.NotContains(t, cm.Data, "jwt.key", "but never the private key")
	set, err := jwk.Parse(published)
	require.NoError(t, err)

	c.Namespace(t, "shop")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-jwt", map[string]string{"dapr.io/app-id": "orders"}, sentryID)
	resp, err := p.Client(t, c.Anchors(t)).SignCertificate(sentryproc.Context(t), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", Token: token, CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
		JwtAudiences: []string{"api://AzureADTokenExchange"},
	})
	require.NoError(t, err)
	tok, err := jwxjwt.Parse([]byte(resp.GetPerAudienceJwts()["api://AzureADTokenExchange"].GetValue()), jwxjwt.WithKeySet(set),
		jwxjwt.WithAudience("api://AzureADTokenExchange"), jwxjwt.WithIssuer("https://sentry.example.com"))
	require.NoError(t, err, "the token verifies against the ConfigMap's key set")
	assert.Equal(t, "spiffe://public/ns/shop/orders", tok.Subject())
	leaf, _ := leafOf(t, resp)
	assert.False(t, tok.Expiration().After(leaf.NotAfter))

	t.Run("a restart keeps the stored key", func(t *testing.T) {
		p.Stop(t)
		sentryproc.Start(t, sentryBin, c.sentryOptions(t, "--jwt-enabled"))
		assert.Equal(t, s.Data["jwt.key"], c.secret(t).Data["jwt.key"])
	})
}
