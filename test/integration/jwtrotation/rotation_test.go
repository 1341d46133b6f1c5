package jwtrotation

import (
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/cmd/trustctl/app"
	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
	"github.com/trustplane/trustplane/test/trustctlrun"
)

const (
	appNS    = "shop"
	audience = "api://AzureADTokenExchange"
	jwtTTL   = 5 * time.Second
	skew     = time.Second
)

// trustctl runs `trustctl mtls rotate-jwt-key` in-process as the admin.
func trustctl(t *testing.T, c *cluster.Cluster, args ...string) (int, string) {
	t.Helper()
	return trustctlrun.Run(t, c.Env.Kubeconfig, append([]string{"-n", cluster.ControlPlaneNamespace, "mtls", "rotate-jwt-key"}, args...)...)
}

// stepWhenReady runs a step, refused at first, until it succeeds.
func stepWhenReady(t *testing.T, c *cluster.Cluster, within time.Duration, args ...string) time.Duration {
	t.Helper()
	return trustctlrun.StepWhenReady(t, c.Env.Kubeconfig, within, append([]string{"-n", cluster.ControlPlaneNamespace, "mtls", "rotate-jwt-key"}, args...)...)
}

type env struct {
	*cluster.Cluster
	sign func() string
}

// published is the key set of Sentry's ConfigMap.
func (e *env) published(t *testing.T) jwk.Set {
	t.Helper()
	cm, err := e.Client.CoreV1().ConfigMaps(cluster.ControlPlaneNamespace).Get(t.Context(), cluster.TrustBundleName, metav1.GetOptions{})
	require.NoError(t, err)
	set, err := jwk.Parse([]byte(cm.Data["jwks.json"]))
	require.NoError(t, err)
	return set
}

// verifies reports whether token's signature verifies against the
// published key set (expiry aside: only the key set is judged).
func (e *env) verifies(t *testing.T, token string) bool {
	t.Helper()
	_, err := jws.Verify([]byte(token), jws.WithKeySet(e.published(t)))
	return err == nil
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	msg, err := jws.Parse([]byte(token))
	require.NoError(t, err)
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}

func TestJWTKeyRotationKeepsEveryTokenVerifiable(t *testing.T) {
	c := cluster.New(t)
	c.ApplyConfiguration(t, cluster.ControlPlaneNamespace, "daprsystem", map[string]any{
		"mtls": map[string]any{"enabled": true, "allowedClockSkew": skew.String()},
	})
	p := sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: []string{"--mode", "kubernetes", "--kubeconfig", c.Kubeconfig(t, "dapr-sentry"), "--trust-domain", "cluster.local",
			"--jwt-enabled", "--jwt-issuer", "https://sentry.example.com", "--jwt-ttl", jwtTTL.String()},
		Env: []string{"NAMESPACE=" + cluster.ControlPlaneNamespace},
		ID:  spiffeid.RequireFromString(cluster.SentryID),
	})
	client := p.Client(t, c.Anchors(t))
	c.Namespace(t, appNS)
	podToken, _ := c.PodToken(t, appNS, "orders-sa", "orders", map[string]string{"dapr.io/app-id": "orders"}, cluster.SentryID)
	e := &env{Cluster: c, sign: func() string {
		resp, err := client.SignCertificate(sentryproc.Context(t), &sentryv1.SignCertificateRequest{
			Id: "orders", Namespace: appNS, Token: podToken, CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
			JwtAudiences: []string{audience},
		})
		require.NoError(t, err)
		return resp.GetPerAudienceJwts()[audience].GetValue()
	}}

	oldToken := e.sign()
	oldKid := kidOf(t, oldToken)
	require.True(t, e.verifies(t, oldToken), "the token verifies against the published key set")
	code, out := trustctl(t, c, "status")
	require.Equal(t, app.ExitOK, code, out)
	assert.Contains(t, out, "Next step:  add-key (ready)")

	// Phase 1: both keys are published; the old key still signs.
	code, out = trustctl(t, c, "add-key")
	require.Equal(t, app.ExitOK, code, out)
	require.Eventually(t, func() bool { return e.published(t).Len() == 2 }, 30*time.Second, 100*time.Millisecond,
		"Sentry publishes both keys")
	assert.True(t, e.verifies(t, oldToken), "the old token still verifies after add-key")
	assert.Equal(t, oldKid, kidOf(t, e.sign()), "Sentry keeps signing with the old key")

	// Phase 2: refused until the propagation delay has passed.
	refused := stepWhenReady(t, c, 30*time.Second, "switch-signing", "--propagation-delay", "3s")
	t.Logf("switch-signing was refused for %s", refused.Round(time.Millisecond))
	switchedAt := time.Now()
	var newKid string
	require.Eventually(t, func() bool { newKid = kidOf(t, e.sign()); return newKid != oldKid }, 30*time.Second, 200*time.Millisecond,
		"Sentry signs with the new key")
	newToken := e.sign()
	assert.Equal(t, newKid, kidOf(t, newToken))
	assert.True(t, e.verifies(t, newToken), "a new token verifies against the published key set")
	assert.True(t, e.verifies(t, oldToken), "the old token still verifies after switch-signing")

	// Phase 3: refused until every old token has expired (TTL + skew).
	code, out = trustctl(t, c, "retire-old-key", "--jwt-ttl", jwtTTL.String())
	require.Equal(t, app.ExitNotReady, code, "retire-old-key is refused right after the switch: %s", out)
	assert.Contains(t, out, "every token signed with the old key has expired")
	refused = stepWhenReady(t, c, 30*time.Second, "retire-old-key", "--jwt-ttl", jwtTTL.String())
	t.Logf("retire-old-key was refused for %s more", refused.Round(time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(switchedAt), jwtTTL+skew, "retire-old-key waited for the old tokens to expire")
	require.Eventually(t, func() bool { return e.published(t).Len() == 1 }, 30*time.Second, 100*time.Millisecond,
		"Sentry publishes only the new key")
	assert.False(t, e.verifies(t, oldToken), "the old token no longer verifies against the published key set")
	latest := e.sign()
	assert.Equal(t, newKid, kidOf(t, latest))
	assert.True(t, e.verifies(t, latest))

	code, out = trustctl(t, c, "status")
	require.Equal(t, app.ExitOK, code, out)
	assert.Contains(t, out, "Phase:      complete")
	t.Log(out)
}
