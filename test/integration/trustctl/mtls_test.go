package trustctl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"

	"github.com/trustplane/trustplane/cmd/trustctl/app"
	"github.com/trustplane/trustplane/test/testca"
)

// TestInspect runs mtls, expiry and export against one apiserver. The first
// case relies on being the only install, so the cases run in order.
func TestInspect(t *testing.T) {
	c := newCluster(t)
	fresh := testca.NewRoot(t).Issuer(t)

	t.Run("mtls finds the only install without --namespace and shows enabled mTLS, the trust domain and expiry", func(t *testing.T) {
		c.setup(t, "dapr-system", install{mtls: ptr.To(true), trustDomain: "example.org", ca: fresh})
		r := c.run(t, "mtls")
		require.Equal(t, app.ExitOK, r.code)
		assert.Contains(t, r.stdout, "Mutual TLS is enabled in your Kubernetes cluster")
		assert.Contains(t, r.stdout, "dapr-system")
		assert.Contains(t, r.stdout, "example.org")
		assert.Regexp(t, `(?m)^root\s+O=trustplane test root .* in 36[45] days`, r.stdout)
		assert.Regexp(t, `(?m)^issuer\s+O=trustplane test issuer .* in 36[45] days`, r.stdout)
		assert.Contains(t, r.stdout, "in sync with the Secret")
		assert.Empty(t, r.stderr, "no warning for a fresh bundle")

		r = c.run(t, "mtls", "-o", "json")
		require.Equal(t, app.ExitOK, r.code)
		var s struct {
			Namespace       string `json:"namespace"`
			MTLSEnabled     bool   `json:"mtlsEnabled"`
			TrustDomain     string `json:"trustDomain"`
			ConfigMapInSync bool   `json:"configMapInSync"`
			Certificates    []struct {
				Role     string    `json:"role"`
				NotAfter time.Time `json:"notAfter"`
			} `json:"certificates"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &s), "stdout is JSON only")
		assert.Equal(t, "dapr-system", s.Namespace)
		assert.True(t, s.MTLSEnabled)
		assert.Equal(t, "example.org", s.TrustDomain)
		assert.True(t, s.ConfigMapInSync)
		require.Len(t, s.Certificates, 2)
		assert.Equal(t, "root", s.Certificates[0].Role)
		assert.Equal(t, fresh.Root.Cert.NotAfter.UTC(), s.Certificates[0].NotAfter)
		assert.Equal(t, "issuer", s.Certificates[1].Role)
	})

	t.Run("mtls without --namespace refuses to choose between two installs", func(t *testing.T) {
		c.setup(t, "other-dapr", install{ca: fresh})
		r := c.run(t, "mtls")
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, "more than one Dapr control plane found")
		assert.Contains(t, r.stderr, "dapr-system, other-dapr")
	})

	t.Run("mtls reports disabled mTLS and the default trust domain", func(t *testing.T) {
		c.setup(t, "disabled", install{mtls: ptr.To(false), ca: fresh})
		r := c.run(t, "mtls", "-n", "disabled")
		require.Equal(t, app.ExitOK, r.code)
		assert.Contains(t, r.stdout, "Mutual TLS is disabled in your Kubernetes cluster")
		assert.Contains(t, r.stdout, "cluster.local (default")
	})

	t.Run("mtls warns on stderr when the root expires within 30 days, keeping JSON on stdout clean", func(t *testing.T) {
		c.setup(t, "root-soon", install{ca: testca.NewRoot(t, testca.WithLifetime(10*24*time.Hour)).Issuer(t, testca.WithLifetime(5*24*time.Hour))})
		r := c.run(t, "mtls", "-n", "root-soon", "-o", "json")
		require.Equal(t, app.ExitOK, r.code)
		require.True(t, json.Valid([]byte(r.stdout)))
		assert.Regexp(t, `⚠  Dapr root certificate of your Kubernetes cluster expires in (9|10) days\. Expiry date: \w{3}, \d\d \w{3} \d{4} [\d:]{8} UTC\.`, r.stderr)
		assert.Regexp(t, `⚠  Dapr issuer certificate of your Kubernetes cluster expires in [45] days\.`, r.stderr)
		assert.Contains(t, r.stderr, "trustctl mtls renew-certificate")
	})

	expiry := map[string]struct {
		ca       *testca.CA
		code     int
		warnings *regexp.Regexp
	}{
		"a fresh bundle exits 0 without warnings": {ca: fresh, code: app.ExitOK},
		"a root expiring in 10 days exits 3": {
			ca:       testca.NewRoot(t, testca.WithLifetime(10*24*time.Hour)).Issuer(t, testca.WithLifetime(24*time.Hour*9)),
			code:     app.ExitExpiring,
			warnings: regexp.MustCompile(`Dapr root certificate of your Kubernetes cluster expires in (9|10) days`),
		},
		"an issuer expiring in 5 days under a fresh root exits 3": {
			ca:       testca.NewRoot(t).Issuer(t, testca.WithLifetime(5*24*time.Hour)),
			code:     app.ExitExpiring,
			warnings: regexp.MustCompile(`Dapr issuer certificate of your Kubernetes cluster expires in [45] days`),
		},
		"an expired issuer exits 4": {
			ca:       testca.NewRoot(t, testca.WithNotBefore(time.Now().Add(-72*time.Hour))).Issuer(t, testca.WithNotBefore(time.Now().Add(-72*time.Hour)), testca.WithLifetime(24*time.Hour)),
			code:     app.ExitExpired,
			warnings: regexp.MustCompile(`Dapr issuer certificate of your Kubernetes cluster has expired`),
		},
	}
	i := 0
	for name, tc := range expiry {
		i++
		t.Run("expiry: "+name, func(t *testing.T) {
			ns := "expiry-" + string(rune('a'+i))
			c.setup(t, ns, install{ca: tc.ca})
			r := c.run(t, "mtls", "expiry", "-n", ns)
			assert.Equal(t, app.ExitOK, r.code, "by default, as dapr mtls expiry: exit 0 and Dapr's sentence")
			assert.Regexp(t, `^Root certificate expires in -?\d+ hours\. Expiry date: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$`, r.stdout)

			r = c.run(t, "mtls", "expiry", "-n", ns, "--exit-code", "-o", "table")
			assert.Equal(t, tc.code, r.code)
			if tc.warnings == nil {
				assert.Empty(t, r.stderr)
				assert.Contains(t, r.stdout, "OK: no certificate expires within 30 days")
			} else {
				assert.Regexp(t, tc.warnings, r.stderr)
			}
			r = c.run(t, "mtls", "expiry", "-n", ns, "-o", "json", "--exit-code")
			assert.Equal(t, tc.code, r.code)
			var e struct {
				Level string `json:"level"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &e))
			assert.Equal(t, map[int]string{0: "ok", 3: "expiring", 4: "expired"}[tc.code], e.Level)
		})
	}

	t.Run("expiry with a larger threshold flags a bundle that outlives 30 days", func(t *testing.T) {
		r := c.run(t, "mtls", "expiry", "-n", "dapr-system", "--threshold-days", "400", "--exit-code")
		assert.Equal(t, app.ExitExpiring, r.code)
		r = c.run(t, "mtls", "expiry", "-n", "dapr-system", "--threshold-days", "400", "-o", "table")
		assert.Equal(t, app.ExitOK, r.code, "exit codes only with --exit-code")
	})

	t.Run("an invalid daprsystem is an error naming the field", func(t *testing.T) {
		c.setup(t, "invalid", install{clockSkew: "soon", ca: fresh})
		r := c.run(t, "mtls", "-n", "invalid")
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, "spec.mtls.allowedClockSkew")
	})

	t.Run("expiry of a namespace without a trust bundle exits 1", func(t *testing.T) {
		c.setup(t, "empty", install{})
		r := c.run(t, "mtls", "expiry", "-n", "empty", "--exit-code")
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, "Secret dapr-trust-bundle does not exist in namespace empty")
		r = c.run(t, "mtls", "expiry", "-n", "empty")
		assert.Equal(t, app.ExitOK, r.code, "as dapr mtls expiry")
		assert.Equal(t, "root certificate not loaded yet, please try again in few minutes", r.stdout)
	})

	t.Run("export writes what dapr mtls export writes: ca.crt, issuer.crt and issuer.key (0600), replacing an earlier export atomically", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "certs")
		r := c.run(t, "mtls", "export", "-n", "dapr-system", "-o", dir)
		require.Equal(t, app.ExitOK, r.code)
		assert.Contains(t, r.stdout, "Trust certs successfully exported to "+dir)
		assertFile(t, filepath.Join(dir, "ca.crt"), fresh.Root.CertPEM(), 0o644)
		assertFile(t, filepath.Join(dir, "issuer.crt"), fresh.CertPEM(), 0o644)
		assertFile(t, filepath.Join(dir, "issuer.key"), fresh.KeyPEM(t), 0o600)

		require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("an older export"), 0o644))
		r = c.run(t, "mtls", "export", "-n", "dapr-system", "-o", dir)
		require.Equal(t, app.ExitOK, r.code, "a script that exports every night keeps working")
		assertFile(t, filepath.Join(dir, "ca.crt"), fresh.Root.CertPEM(), 0o644)

		r = c.run(t, "mtls", "export", "-n", "dapr-system", "-o", dir, "--no-clobber")
		assert.Equal(t, app.ExitError, r.code)
		assert.Contains(t, r.stderr, "refusing to overwrite")

		noKey := filepath.Join(t.TempDir(), "public")
		r = c.run(t, "mtls", "export", "-n", "dapr-system", "-o", noKey, "--include-private-key=false")
		require.Equal(t, app.ExitOK, r.code)
		assert.NoFileExists(t, filepath.Join(noKey, "issuer.key"))
		assert.Contains(t, r.stdout, "The issuer private key was not exported")
	})
}

func assertFile(t *testing.T, path string, want []byte, mode os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), path)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, mode, fi.Mode().Perm(), path)
}
