package e2e

import (
	"encoding/base64"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trustplane/trustplane/test/testca"
)

// caFiles are a root and an issuer written as helm --set-file inputs.
type caFiles struct{ root, cert, key string }

func (c caFiles) setFile() []string {
	return []string{
		"--set-file", "dapr_sentry.tls.root.certPEM=" + c.root,
		"--set-file", "dapr_sentry.tls.issuer.certPEM=" + c.cert,
		"--set-file", "dapr_sentry.tls.issuer.keyPEM=" + c.key,
	}
}

func writeCA(t testing.TB, dir string) caFiles {
	t.Helper()
	issuer := testca.NewRoot(t).Issuer(t)
	c := caFiles{root: filepath.Join(dir, "root.pem"), cert: filepath.Join(dir, "issuer.pem"), key: filepath.Join(dir, "issuer.key")}
	// A comment line and CRLF in the root: the bytes must survive as they are.
	root := append([]byte("# our root\r\n"), issuer.Root.CertPEM()...)
	require.NoError(t, os.WriteFile(c.root, root, 0o600))
	require.NoError(t, os.WriteFile(c.cert, issuer.CertPEM(), 0o600))
	require.NoError(t, os.WriteFile(c.key, issuer.KeyPEM(t), 0o600))
	return c
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestChartTrustBundle(t *testing.T) {
	t.Run("--set-file puts the exact bytes in the Secret and the root in the ConfigMap", func(t *testing.T) {
		ca := writeCA(t, t.TempDir())
		r := template(t, chartNS, ca.setFile()...)
		s := r[key("Secret", "dapr-trust-bundle")]
		require.NotNil(t, s)
		data, _, _ := unstructured.NestedStringMap(s.Object, "data")
		for k, file := range map[string]string{"ca.crt": ca.root, "issuer.crt": ca.cert, "issuer.key": ca.key} {
			got, err := base64.StdEncoding.DecodeString(data[k])
			require.NoError(t, err, k)
			assert.Equal(t, readFile(t, file), got, k)
		}
		cm := get[corev1.ConfigMap](t, r, "ConfigMap", "dapr-trust-bundle")
		assert.Equal(t, string(readFile(t, ca.root)), cm.Data["ca.crt"])
		assert.Equal(t, "keep", s.GetAnnotations()["helm.sh/resource-policy"], "the CA survives upgrade and uninstall")
	})
	t.Run("without certificates the Secret and the ConfigMap are empty, for Sentry to fill", func(t *testing.T) {
		r := template(t, chartNS)
		s := get[corev1.Secret](t, r, "Secret", "dapr-trust-bundle")
		assert.Empty(t, s.Data)
		assert.Equal(t, "keep", s.Annotations["helm.sh/resource-policy"])
		assert.Empty(t, get[corev1.ConfigMap](t, r, "ConfigMap", "dapr-trust-bundle").Data)
	})
	t.Run("an external trust bundle renders neither object and Sentry waits for it", func(t *testing.T) {
		r := template(t, chartNS, "--set", "dapr_sentry.tls.external=true")
		assert.NotContains(t, r, key("Secret", "dapr-trust-bundle"))
		assert.NotContains(t, r, key("ConfigMap", "dapr-trust-bundle"))
		args := get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry").Spec.Template.Spec.Containers[0].Args
		assert.Contains(t, args, "--generate-ca=false")
		assert.NotContains(t, get[appsv1.Deployment](t, template(t, chartNS), "Deployment", "dapr-sentry").Spec.Template.Spec.Containers[0].Args,
			"--generate-ca=false", "Sentry generates by default")
	})
	t.Run("issuerFilenames name the Secret's keys for Sentry and for brought certificates", func(t *testing.T) {
		ca := writeCA(t, t.TempDir())
		r := template(t, chartNS, append(ca.setFile(), "--set", "global.issuerFilenames.ca=ca.crt",
			"--set", "global.issuerFilenames.cert=tls.crt", "--set", "global.issuerFilenames.key=tls.key")...)
		args := get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry").Spec.Template.Spec.Containers[0].Args
		for flag, want := range map[string]string{"--issuer-ca-filename": "ca.crt", "--issuer-certificate-filename": "tls.crt", "--issuer-key-filename": "tls.key"} {
			i := slices.Index(args, flag)
			require.GreaterOrEqual(t, i, 0, flag)
			assert.Equal(t, want, args[i+1], flag)
		}
		data, _, _ := unstructured.NestedStringMap(r[key("Secret", "dapr-trust-bundle")].Object, "data")
		assert.ElementsMatch(t, []string{"ca.crt", "tls.crt", "tls.key"}, slices.Collect(maps.Keys(data)))
	})
	for name, c := range map[string]struct {
		sets []string
		want string
	}{
		"issuerFilenames with one name missing are refused": {[]string{"global.issuerFilenames.ca=ca.crt", "global.issuerFilenames.cert=tls.crt"}, "set all three of ca, cert and key"},
		"issuerFilenames naming one key twice are refused":  {[]string{"global.issuerFilenames.ca=a", "global.issuerFilenames.cert=a", "global.issuerFilenames.key=b"}, "three different names"},
		"an issuerFilenames name with a slash is rejected":  {[]string{"global.issuerFilenames.ca=a/b"}, "values don't meet the specifications of the schema"},
	} {
		t.Run(name, func(t *testing.T) { assert.Contains(t, templateFails(t, c.sets...), c.want) })
	}
	t.Run("an external trust bundle with brought certificates is refused", func(t *testing.T) {
		ca := writeCA(t, t.TempDir())
		out, err := run(t, "", tool(t, "helm"), append([]string{"template", "x", chartDir(), "--set", "dapr_sentry.tls.external=true"}, ca.setFile()...)...)
		require.Error(t, err)
		assert.Contains(t, out, "the Secret belongs to its owner")
	})
	t.Run("a partial CA is refused", func(t *testing.T) {
		ca := writeCA(t, t.TempDir())
		out, err := run(t, "", tool(t, "helm"), "template", "x", chartDir(), "--set-file", "dapr_sentry.tls.root.certPEM="+ca.root)
		require.Error(t, err)
		assert.Contains(t, out, "set all three")
	})
}

func TestChartSchemaRejectsTypos(t *testing.T) {
	for name, set := range map[string]string{
		"a misspelt top-level key":       "dapr_sentri.replicaCount=2",
		"a misspelt nested key":          "global.mtls.workloadCertTtl=1h",
		"a misspelt key in a deep map":   "dapr_sidecar_injector.webhook.failurePolicyy=Fail",
		"a value of the wrong type":      "global.ha.enabled=maybe",
		"an unknown failure policy":      "dapr_sidecar_injector.webhook.failurePolicy=Sometimes",
		"a duration that does not parse": "global.mtls.workloadCertTTL=one-day",
	} {
		t.Run(name, func(t *testing.T) {
			assert.Contains(t, templateFails(t, set), "values don't meet the specifications of the schema")
		})
	}
}
