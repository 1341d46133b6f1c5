package kubernetes

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
)

// A Secret owned by cert-manager: Sentry must not create it, and reads the
// key names cert-manager writes.
func TestSentryWaitsForAnExternallyOwnedSecretWithCertManagerKeys(t *testing.T) {
	c := newCluster(t)
	p := sentryproc.Launch(t, sentryBin, c.sentryOptions(t, "--generate-ca=false",
		"--issuer-ca-filename", "ca.crt", "--issuer-certificate-filename", "tls.crt", "--issuer-key-filename", "tls.key"))

	require.Eventually(t, func() bool { code, _ := p.Readyz(); return code == http.StatusServiceUnavailable }, 30*time.Second, 50*time.Millisecond,
		"live but not ready while the Secret is missing")
	_, body := p.Readyz()
	assert.Contains(t, body, "no trust bundle loaded yet")
	time.Sleep(time.Second)
	_, err := c.Client.CoreV1().Secrets(sentryNS).Get(cctx(t), bundleName, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "Sentry did not create the Secret: %v", err)
	assert.Contains(t, p.Logs.String(), "waiting for their owner to store them")

	// The owner (here: as cert-manager writes a CA Certificate) stores it.
	root := testca.NewRoot(t)
	issuer := root.Issuer(t)
	_, err = c.Client.CoreV1().Secrets(sentryNS).Create(cctx(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bundleName},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"ca.crt": root.CertPEM(), "tls.crt": issuer.CertPEM(), "tls.key": issuer.KeyPEM(t)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	p.WaitReady(t)

	anchors := c.Anchors(t)
	assert.Equal(t, string(root.CertPEM()), string(anchors), "the ConfigMap publishes the owner's root")
	c.Namespace(t, "shop")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-1", map[string]string{"dapr.io/app-id": "orders"}, sentryID)
	resp, err := sign(t, p.Client(t, anchors), token, "shop", "orders")
	require.NoError(t, err)
	_, chain := leafOf(t, resp)
	assert.Equal(t, issuer.Cert.Raw, chain[0].Raw, "the owner's issuer signs")
	s := c.secret(t)
	assert.Equal(t, []string{"ca.crt", "tls.crt", "tls.key"}, keys(s.Data), "Sentry wrote nothing into the owner's Secret")
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
