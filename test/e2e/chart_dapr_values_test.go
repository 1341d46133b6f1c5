package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/test/daprbin"
)

// daprUserValues is a values file as a Dapr user writes one for Dapr
// v1.18.3's umbrella chart: global from its values.yaml and every
// subchart's values.yaml under the subchart's name — Dapr's own files,
// unchanged, every key of them.
func daprUserValues(t *testing.T) string {
	t.Helper()
	dc := daprbin.ChartDir(t)
	doc := map[string]any{}
	data, err := os.ReadFile(filepath.Join(dc, "values.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &doc))
	subs, err := os.ReadDir(filepath.Join(dc, "charts"))
	require.NoError(t, err)
	for _, s := range subs {
		data, err := os.ReadFile(filepath.Join(dc, "charts", s.Name(), "values.yaml"))
		require.NoError(t, err)
		var v map[string]any
		require.NoError(t, yaml.Unmarshal(data, &v))
		doc[s.Name()] = v
	}
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "dapr-values.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return path
}

// A Dapr user's values files pass our schema: every key is honoured with
// Dapr's meaning or accepted and ignored (NOTES.txt names those).
func TestChartAcceptsDaprsValues(t *testing.T) {
	t.Run("Dapr's values.yaml, unchanged", func(t *testing.T) {
		template(t, chartNS, "-f", filepath.Join(daprbin.ChartDir(t), "values.yaml"))
	})
	t.Run("every key of Dapr's umbrella and subchart values files", func(t *testing.T) {
		r := template(t, chartNS, "-f", daprUserValues(t))
		w := get[admissionregistrationv1.MutatingWebhookConfiguration](t, r, "MutatingWebhookConfiguration", "dapr-sidecar-injector")
		assert.Equal(t, admissionregistrationv1.Ignore, *w.Webhooks[0].FailurePolicy, "Dapr's webhookFailurePolicy is honoured")
	})
	t.Run("imagePullSecrets as Dapr takes them: a string, a list of names, a list of {name}", func(t *testing.T) {
		for name, set := range map[string][]string{
			"a string":         {"--set", "global.imagePullSecrets=regcred"},
			"a list of names":  {"--set", "global.imagePullSecrets[0]=regcred"},
			"a list of {name}": {"--set", "global.imagePullSecrets[0].name=regcred"},
		} {
			d := get[appsv1.Deployment](t, template(t, chartNS, set...), "Deployment", "dapr-sentry")
			assert.Equal(t, []corev1.LocalObjectReference{{Name: "regcred"}}, d.Spec.Template.Spec.ImagePullSecrets, name)
		}
	})
	t.Run("podAntiAffinityPolicy required keeps HA replicas apart strictly", func(t *testing.T) {
		r := template(t, chartNS, "--set", "global.ha.enabled=true", "--set", "global.ha.podAntiAffinityPolicy=requiredDuringSchedulingIgnoredDuringExecution")
		for _, deploy := range []string{"dapr-sentry", "dapr-sidecar-injector"} {
			a := get[appsv1.Deployment](t, r, "Deployment", deploy).Spec.Template.Spec.Affinity.PodAntiAffinity
			require.Len(t, a.RequiredDuringSchedulingIgnoredDuringExecution, 1, deploy)
			assert.Empty(t, a.PreferredDuringSchedulingIgnoredDuringExecution, deploy)
		}
		assert.Contains(t, templateFails(t, "global.ha.podAntiAffinityPolicy=sometimes"), "podAntiAffinityPolicy")
	})
	t.Run("Sentry's extra volumes and JWT file names", func(t *testing.T) {
		r := template(t, chartNS,
			"--set", "global.extraVolumes.sentry[0].name=extra", "--set", "global.extraVolumes.sentry[0].emptyDir.medium=Memory",
			"--set", "global.extraVolumeMounts.sentry[0].name=extra", "--set", "global.extraVolumeMounts.sentry[0].mountPath=/extra",
			"--set", "dapr_sentry.jwt.enabled=true", "--set", "dapr_sentry.jwt.keyFilename=signing.key", "--set", "dapr_sentry.jwt.jwksFilename=keys.json")
		d := get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry")
		c := d.Spec.Template.Spec.Containers[0]
		assert.Equal(t, "extra", d.Spec.Template.Spec.Volumes[0].Name)
		assert.Equal(t, "/extra", c.VolumeMounts[0].MountPath)
		assert.Equal(t, "signing.key", flagValue(c.Args, "--jwt-key-filename"))
		assert.Equal(t, "keys.json", flagValue(c.Args, "--jwks-filename"))
	})
	t.Run("OIDC is HTTPS by default, as Dapr's: never plain HTTP unless asked", func(t *testing.T) {
		out := templateFails(t, "dapr_sentry.jwt.enabled=true", "dapr_sentry.oidc.enabled=true")
		assert.Contains(t, out, "dapr_sentry.oidc.tls.enabled needs")
		r := template(t, chartNS, "--set", "dapr_sentry.jwt.enabled=true", "--set", "dapr_sentry.oidc.enabled=true",
			"--set", "dapr_sentry.oidc.tls.enabled=false")
		c := get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry").Spec.Template.Spec.Containers[0]
		assert.Contains(t, c.Args, "--oidc-server-tls-enabled=false", "plain HTTP only when asked, and without an issuer (derived per request, as Dapr's)")
	})
	t.Run("Dapr's webhook selectors are added to ours", func(t *testing.T) {
		r := template(t, chartNS, "--set", "dapr_sidecar_injector.namespaceSelector.matchLabels.team=a",
			"--set", "dapr_sidecar_injector.objectSelector.matchLabels.dapr=yes", "--set", "dapr_sidecar_injector.webhookFailurePolicy=Fail")
		w := get[admissionregistrationv1.MutatingWebhookConfiguration](t, r, "MutatingWebhookConfiguration", "dapr-sidecar-injector").Webhooks[0]
		assert.Equal(t, map[string]string{"team": "a"}, w.NamespaceSelector.MatchLabels)
		assert.NotEmpty(t, w.NamespaceSelector.MatchExpressions, "kube-system and the control plane stay excluded")
		assert.Equal(t, map[string]string{"dapr": "yes"}, w.ObjectSelector.MatchLabels)
		assert.Equal(t, admissionregistrationv1.Fail, *w.FailurePolicy)
	})
}

func TestChartDaprdImage(t *testing.T) {
	sidecar := func(args ...string) string {
		d := get[appsv1.Deployment](t, template(t, chartNS, args...), "Deployment", "dapr-sidecar-injector")
		return envValue(&d.Spec.Template.Spec.Containers[0], "SIDECAR_IMAGE")
	}
	assert.Equal(t, "ghcr.io/dapr/daprd:1.18.3", sidecar(), "the Dapr release trustplane is tested with")
	assert.Equal(t, "ghcr.io/dapr/daprd:1.18.3", sidecar("--set", "global.tag=0.9.0"), "our global.tag is trustplane's, not daprd's")
	assert.Equal(t, "mirror.example/dapr/daprd:1.18.1", sidecar("--set", "dapr_sidecar_injector.image.name=daprd",
		"--set", "global.registry=mirror.example/dapr", "--set", "global.tag=1.18.1"), "Dapr's values: global.registry and global.tag, as Dapr's chart")
	assert.Equal(t, "ghcr.io/dapr/daprd:1.18.3", sidecar("-f", daprUserValues(t), "--set", "global.tag=1.18.3"),
		"a Dapr user's values file with its release tag")
}
