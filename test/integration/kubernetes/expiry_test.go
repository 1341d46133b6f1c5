package kubernetes

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/test/testca"
)

func TestSentryWarnsOnTheSecretWhenTheRootExpiresSoon(t *testing.T) {
	c := newCluster(t)
	root := testca.NewRoot(t, testca.WithLifetime(48*time.Hour))
	issuer := root.Issuer(t, testca.WithLifetime(24*time.Hour))
	_, err := c.Client.CoreV1().Secrets(sentryNS).Create(cctx(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bundleName},
		Data:       map[string][]byte{"ca.crt": root.CertPEM(), "issuer.crt": issuer.CertPEM(), "issuer.key": issuer.KeyPEM(t)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	c.startSentry(t)

	require.Eventually(t, func() bool {
		events, err := c.Client.CoreV1().Events(sentryNS).List(cctx(t), metav1.ListOptions{})
		require.NoError(t, err)
		for _, e := range events.Items {
			if e.InvolvedObject.Kind == "Secret" && e.InvolvedObject.Name == bundleName && e.Type == corev1.EventTypeWarning &&
				e.Reason == "RootCertificateExpiring" && strings.Contains(e.Message, "Dapr root certificate expiration warning: certificate expires in 1 day and 23 hours") {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "kubectl describe secret dapr-trust-bundle shows the expiry warning")
}
