package trustctl

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/cmd/trustctl/app"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	store "github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	tcluster "github.com/trustplane/trustplane/pkg/trustctl/cluster"
	"github.com/trustplane/trustplane/pkg/trustctl/restart"
	"github.com/trustplane/trustplane/test/testca"
)

// assertPublished checks that the ConfigMap publishes the Secret's roots
// with the annotation Sentry's store expects, and that the store loads the
// bundle and leaves the ConfigMap as it is (it adopted it).
func (c *cluster) assertPublished(t *testing.T, ns string) *bundle.Bundle {
	t.Helper()
	b := c.storedBundle(t, ns)
	cm := c.configMap(t, ns)
	assert.Equal(t, string(b.RootsPEM), cm.Data["ca.crt"])
	sum := sha256.Sum256(b.RootsPEM)
	assert.Equal(t, hex.EncodeToString(sum[:]), cm.Annotations[store.AnnotationRootsSHA256])

	s, err := store.New(store.Options{Client: c.kube, Namespace: ns})
	require.NoError(t, err)
	loaded, err := s.Load()
	require.NoError(t, err)
	assert.True(t, loaded.Equal(b))
	assert.Equal(t, cm.ResourceVersion, c.configMap(t, ns).ResourceVersion, "Sentry's store finds nothing to rewrite")
	return b
}

func TestRenew(t *testing.T) {
	c := newCluster(t)

	t.Run("fresh certificates use daprsystem's trust domain and clock skew, keep other Secret keys, and are published", func(t *testing.T) {
		old := testca.NewRoot(t).Issuer(t)
		c.setup(t, "fresh", install{trustDomain: "example.org", clockSkew: "1h", ca: old})
		before := time.Now()
		r := c.run(t, "mtls", "renew-certificate", "-n", "fresh", "--valid-until", "100")
		require.Equal(t, app.ExitOK, r.code)
		for _, line := range []string{"Starting certificate rotation", "Generating fresh certificates",
			"Updating certificates in your Kubernetes cluster", "Certificate rotation is successful! Your new certificate is valid through "} {
			assert.Contains(t, r.stdout, line)
		}
		b := c.assertPublished(t, "fresh")
		root := b.Roots[0]
		assert.False(t, root.PublicKey.(*ecdsa.PublicKey).Equal(old.Root.Key.Public()), "a new ECDSA P-256 root key, as dapr mtls renew-certificate makes")
		_, edIssuer := b.Issuer().PublicKey.(ed25519.PublicKey)
		assert.True(t, edIssuer, "an Ed25519 issuer, as dapr mtls renew-certificate v1.18 makes")
		assert.Equal(t, []string{"example.org"}, root.Subject.Organization)
		assert.Equal(t, []string{"spiffe://example.org/ns/fresh/dapr-sentry"}, b.Issuer().Subject.Organization)
		assert.WithinDuration(t, before.Add(-time.Hour), root.NotBefore, time.Minute)
		assert.WithinDuration(t, before.Add(100*24*time.Hour), root.NotAfter, time.Minute)
		assert.Contains(t, r.stdout, root.NotAfter.UTC().Format(time.RFC1123))
		assert.Equal(t, "kept", string(c.secret(t, "fresh").Data["jwt.key"]))
		assert.Equal(t, "dapr-sentry", c.secret(t, "fresh").Labels["app"])
		assert.Empty(t, r.stderr)
	})

	t.Run("the alias rnc with -o json prints the new status as JSON and progress to stderr", func(t *testing.T) {
		c.setup(t, "alias", install{ca: testca.NewRoot(t).Issuer(t)})
		r := c.run(t, "mtls", "rnc", "-n", "alias", "-o", "json")
		require.Equal(t, app.ExitOK, r.code)
		assert.Contains(t, r.stdout, `"trustDomain": "cluster.local"`)
		assert.Contains(t, r.stderr, "Certificate rotation is successful!")
		c.assertPublished(t, "alias")
	})

	keyFormats := map[string]func(t *testing.T, ca *testca.CA) []byte{
		"a SEC1 EC PRIVATE KEY": func(t *testing.T, ca *testca.CA) []byte {
			der, err := x509.MarshalECPrivateKey(ca.Key.(*ecdsa.PrivateKey))
			require.NoError(t, err)
			return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
		},
		"a PKCS#8 PRIVATE KEY": func(t *testing.T, ca *testca.CA) []byte { return ca.KeyPEM(t) },
	}
	for name, encode := range keyFormats {
		t.Run("--private-key with "+name+" reuses the root key, so the old root still verifies the new issuer", func(t *testing.T) {
			ns := "reuse-" + map[bool]string{true: "sec1", false: "pkcs8"}[name == "a SEC1 EC PRIVATE KEY"]
			old := testca.NewRoot(t, testca.WithLifetime(10*24*time.Hour)).Issuer(t, testca.WithLifetime(5*24*time.Hour))
			c.setup(t, ns, install{ca: old})
			keyFile := filepath.Join(t.TempDir(), "root.key")
			require.NoError(t, os.WriteFile(keyFile, encode(t, old.Root), 0o600))

			r := c.run(t, "mtls", "renew-cert", "-n", ns, "--private-key", keyFile)
			require.Equal(t, app.ExitOK, r.code)
			assert.Contains(t, r.stdout, "Using the root private key "+keyFile)
			assert.Contains(t, r.stdout, "The root key is unchanged")
			b := c.assertPublished(t, ns)
			require.Len(t, b.Roots, 1)
			assert.True(t, b.Roots[0].PublicKey.(*ecdsa.PublicKey).Equal(old.Root.Key.Public()), "same root public key")
			assert.NotEqual(t, old.Root.Cert.Raw, b.Roots[0].Raw, "a new root certificate")
			assert.Equal(t, old.Root.Cert.RawSubject, b.Roots[0].RawSubject, "the old root's subject is kept")
			assert.True(t, b.Roots[0].NotAfter.After(time.Now().Add(364*24*time.Hour)))
			assert.True(t, verifies(b, old.Root.Cert), "workloads trusting the old root accept the new issuer")
			assert.Empty(t, r.stderr, "the renewed bundle no longer warns")
		})
	}

	t.Run("--private-key that is not a key is refused and nothing is written", func(t *testing.T) {
		old := testca.NewRoot(t).Issuer(t)
		c.setup(t, "bad-key", install{ca: old})
		keyFile := filepath.Join(t.TempDir(), "root.key")
		require.NoError(t, os.WriteFile(keyFile, old.Root.CertPEM(), 0o600))
		rv := c.secret(t, "bad-key").ResourceVersion
		r := c.run(t, "mtls", "rnc", "-n", "bad-key", "--private-key", keyFile)
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, `certificate rotation failed: read root private key`)
		assert.Contains(t, r.stderr, `"CERTIFICATE"`)
		assert.Equal(t, rv, c.secret(t, "bad-key").ResourceVersion)
	})

	byoFiles := func(t *testing.T, roots, issuer, key []byte) []string {
		dir := t.TempDir()
		files := []string{filepath.Join(dir, "ca.crt"), filepath.Join(dir, "issuer.crt"), filepath.Join(dir, "issuer.key")}
		for i, data := range [][]byte{roots, issuer, key} {
			require.NoError(t, os.WriteFile(files[i], data, 0o600))
		}
		return []string{"--ca-root-certificate", files[0], "--issuer-public-certificate", files[1], "--issuer-private-key", files[2]}
	}

	t.Run("provided certificates are checked, then written as given", func(t *testing.T) {
		c.setup(t, "byo", install{ca: testca.NewRoot(t).Issuer(t)})
		mine := testca.NewRoot(t).Issuer(t)
		r := c.run(t, append([]string{"mtls", "renew-certificate", "-n", "byo"}, byoFiles(t, mine.Root.CertPEM(), mine.CertPEM(), mine.KeyPEM(t))...)...)
		require.Equal(t, app.ExitOK, r.code)
		assert.Contains(t, r.stdout, "Using provided certificates")
		b := c.assertPublished(t, "byo")
		assert.Equal(t, mine.Root.CertPEM(), b.RootsPEM)
		assert.Equal(t, mine.KeyPEM(t), c.secret(t, "byo").Data["issuer.key"])
	})

	t.Run("provided certificates with a key of another issuer are refused and nothing is written", func(t *testing.T) {
		c.setup(t, "byo-mismatch", install{ca: testca.NewRoot(t).Issuer(t)})
		sec, cm := c.secret(t, "byo-mismatch"), c.configMap(t, "byo-mismatch")
		mine := testca.NewRoot(t).Issuer(t)
		other := testca.NewKey(t)
		otherPEM := (&testca.CA{Key: other}).KeyPEM(t)
		r := c.run(t, append([]string{"mtls", "rnc", "-n", "byo-mismatch"}, byoFiles(t, mine.Root.CertPEM(), mine.CertPEM(), otherPEM)...)...)
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, "certificate rotation failed: check provided certificates: key: private key does not match the issuer certificate")
		assert.Equal(t, sec.ResourceVersion, c.secret(t, "byo-mismatch").ResourceVersion)
		assert.Equal(t, cm.ResourceVersion, c.configMap(t, "byo-mismatch").ResourceVersion)
	})

	t.Run("an expired provided issuer is refused", func(t *testing.T) {
		c.setup(t, "byo-expired", install{ca: testca.NewRoot(t).Issuer(t)})
		mine := testca.NewRoot(t).Issuer(t, testca.WithNotBefore(time.Now().Add(-48*time.Hour)), testca.WithLifetime(time.Hour))
		r := c.run(t, append([]string{"mtls", "rnc", "-n", "byo-expired"}, byoFiles(t, mine.Root.CertPEM(), mine.CertPEM(), mine.KeyPEM(t))...)...)
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, "certificate has expired")
	})

	t.Run("an incomplete set of certificate flags is a usage error with Dapr's text", func(t *testing.T) {
		r := c.run(t, "mtls", "rnc", "-n", "byo", "--ca-root-certificate", "ca.crt")
		assert.Equal(t, app.ExitUsage, r.code)
		assert.Contains(t, r.stderr, `all required flags for this certificate rotation path, "ca-root-certificate", "issuer-private-key" and "issuer-public-certificate" are not present`)
	})

	t.Run("--restart patches restartedAt of the control plane and skips absent workloads", func(t *testing.T) {
		c.setup(t, "restart", install{ca: testca.NewRoot(t).Issuer(t)})
		c.deployment(t, "restart", "dapr-sentry")
		c.deployment(t, "restart", "dapr-operator")
		c.rollOut(t, "restart", 0)
		before := time.Now().Add(-time.Second)
		r := c.run(t, "mtls", "rnc", "-n", "restart", "--restart")
		require.Equal(t, app.ExitOK, r.code)
		assert.Contains(t, r.stdout, "Restarting deployment/dapr-sentry..")
		assert.Contains(t, r.stdout, "Skipping statefulset/dapr-placement-server: not found")
		assert.Contains(t, r.stdout, "Skipping statefulset/dapr-scheduler-server: not found")
		for _, name := range []string{"dapr-sentry", "dapr-operator"} {
			d, err := c.kube.AppsV1().Deployments("restart").Get(cctx(t), name, metav1.GetOptions{})
			require.NoError(t, err)
			at, err := time.Parse(time.RFC3339, d.Spec.Template.Annotations[restart.AnnotationRestartedAt])
			require.NoError(t, err, name)
			assert.False(t, at.Before(before.Truncate(time.Second)), name)
		}
		c.assertPublished(t, "restart")
	})

	t.Run("a Secret cert-manager owns is left to cert-manager, with the command to use", func(t *testing.T) {
		c.setup(t, "owned", install{ca: testca.NewRoot(t).Issuer(t)})
		sec := c.secret(t, "owned")
		sec.Annotations = map[string]string{"cert-manager.io/certificate-name": "dapr-ca"}
		sec, err := c.kube.CoreV1().Secrets("owned").Update(cctx(t), sec, metav1.UpdateOptions{})
		require.NoError(t, err)
		r := c.run(t, "mtls", "rnc", "-n", "owned")
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, `belongs to cert-manager Certificate "dapr-ca" (renew it there, for example: cmctl renew -n owned dapr-ca)`)
		assert.Equal(t, sec.ResourceVersion, c.secret(t, "owned").ResourceVersion, "nothing was written")
		st := c.run(t, "mtls", "-n", "owned")
		require.Equal(t, app.ExitOK, st.code)
		assert.Contains(t, st.stdout, `Trust bundle owner:  cert-manager Certificate "dapr-ca"`, "status says who owns it")
	})

	t.Run("a renewal without a Secret creates the Secret and the ConfigMap", func(t *testing.T) {
		c.setup(t, "absent", install{})
		r := c.run(t, "mtls", "rnc", "-n", "absent")
		require.Equal(t, app.ExitOK, r.code)
		c.assertPublished(t, "absent")
	})
}

func TestWriteBundleDetectsConcurrentChange(t *testing.T) {
	c := newCluster(t)
	c.setup(t, "race", install{ca: testca.NewRoot(t).Issuer(t)})
	cl, err := tcluster.New(tcluster.Options{Kube: c.kube, Dynamic: c.dyn})
	require.NoError(t, err)
	tb, err := cl.ReadBundle(cctx(t), "race")
	require.NoError(t, err)

	// Someone else rotates between the read and the write.
	theirs := testca.NewRoot(t).Issuer(t)
	sec := tb.Secret.DeepCopy()
	sec.Data["ca.crt"], sec.Data["issuer.crt"], sec.Data["issuer.key"] = theirs.Root.CertPEM(), theirs.CertPEM(), theirs.KeyPEM(t)
	_, err = c.kube.CoreV1().Secrets("race").Update(cctx(t), sec, metav1.UpdateOptions{})
	require.NoError(t, err)

	mine := testca.NewRoot(t).Issuer(t)
	b, err := bundle.Parse(mine.Root.CertPEM(), mine.CertPEM(), mine.KeyPEM(t))
	require.NoError(t, err)
	err = cl.WriteBundle(cctx(t), tb, b)
	require.ErrorIs(t, err, tcluster.ErrConflict)
	assert.True(t, bytes.Equal(theirs.Root.CertPEM(), c.secret(t, "race").Data["ca.crt"]), "their rotation stands")
	assert.NotContains(t, c.configMap(t, "race").Annotations, store.AnnotationRootsSHA256, "the ConfigMap was not touched")

	// A ConfigMap that someone deleted meanwhile is created.
	tb, err = cl.ReadBundle(cctx(t), "race")
	require.NoError(t, err)
	require.NoError(t, c.kube.CoreV1().ConfigMaps("race").Delete(cctx(t), bundleName, metav1.DeleteOptions{}))
	require.NoError(t, cl.WriteBundle(cctx(t), tb, b))
	assert.Equal(t, string(mine.Root.CertPEM()), c.configMap(t, "race").Data["ca.crt"])
}
