package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/test/proc"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// TestInstalledProductServesOIDCFromATLSSecret installs the chart with OIDC
// over HTTPS from a kubernetes.io/tls Secret (as cert-manager makes): the
// Deployment mounts it, Sentry (run as the Deployment runs it) serves the
// discovery document with that certificate.
func TestInstalledProductServesOIDCFromATLSSecret(t *testing.T) {
	env, c := startCluster(t)
	c.namespace(t, cpNS)
	certPEM, keyPEM := selfSigned(t, "sentry.example.com")
	_, err := c.client.CoreV1().Secrets(cpNS).Create(cctx(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sentry-oidc-tls"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	helm(t, env.Kubeconfig, "install", release, chartDir(), "-n", cpNS,
		"--set", "dapr_sentry.jwt.enabled=true", "--set", "dapr_sentry.jwt.issuer=https://sentry.example.com",
		"--set", "dapr_sentry.oidc.enabled=true", "--set", "dapr_sentry.oidc.tls.enabled=true",
		"--set", "dapr_sentry.oidc.tls.secretName=sentry-oidc-tls")

	sp := c.runDeployment(t, cpNS, "dapr-sentry")
	sp.takePortFlags(t, map[string]string{"--port": "grpc", "--healthz-port": "healthz", "--metrics-port": "metrics", "--oidc-server-listen-port": "oidc"})
	oidcPort := proc.FreePort(t)
	sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: append(sp.args, "--kubeconfig", sp.kubeconfig,
			"--oidc-server-listen-address=127.0.0.1", "--oidc-server-listen-port", strconv.Itoa(oidcPort)),
		Env: sp.env, ID: spiffeid.RequireFromString(sentryID),
	})

	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(certPEM))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "sentry.example.com", MinVersion: tls.VersionTLS12},
	}}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	require.Eventually(t, func() bool {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/.well-known/openid-configuration", oidcPort))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&doc) == nil
	}, 30*time.Second, 100*time.Millisecond, "the discovery document is served over TLS with the Secret's certificate")
	assert.Equal(t, "https://sentry.example.com", doc.Issuer)
	assert.NotEmpty(t, doc.JWKSURI)
}

// selfSigned returns a PEM certificate for dnsName and its PEM key.
func selfSigned(t *testing.T, dnsName string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), DNSNames: []string{dnsName},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}
