package e2e

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	"github.com/trustplane/trustplane/pkg/injector/webhook"
	"github.com/trustplane/trustplane/test/envtest"
)

const chartNS = "trust-system"

func TestChartLints(t *testing.T) {
	dir := t.TempDir()
	pems := writeCA(t, dir)
	for name, args := range map[string][]string{
		"the defaults lint":                      nil,
		"HA with a PrometheusRule lints":         {"--set", "global.ha.enabled=true", "--set", "prometheusRule.enabled=true"},
		"a brought CA lints":                     pems.setFile(),
		"workload mTLS off and no injector lint": {"--set", "global.mtls.enabled=false", "--set", "dapr_sidecar_injector.enabled=false"},
	} {
		t.Run(name, func(t *testing.T) {
			helm(t, "", append([]string{"lint", "--strict", chartDir(), "-n", chartNS}, args...)...)
		})
	}
}

func TestChartHighAvailability(t *testing.T) {
	t.Run("HA runs three replicas spread by anti-affinity, each Deployment with a PDB", func(t *testing.T) {
		r := template(t, chartNS, "--set", "global.ha.enabled=true")
		for deploy, pdb := range map[string]string{"dapr-sentry": "dapr-sentry-budget", "dapr-sidecar-injector": "dapr-sidecar-injector-disruption-budget"} {
			d := get[appsv1.Deployment](t, r, "Deployment", deploy)
			assert.Equal(t, int32(3), *d.Spec.Replicas, deploy)
			require.NotNil(t, d.Spec.Template.Spec.Affinity, deploy)
			terms := d.Spec.Template.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
			require.Len(t, terms, 1, deploy)
			assert.Equal(t, deploy, terms[0].PodAffinityTerm.LabelSelector.MatchLabels["app"])
			b := get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", pdb)
			assert.Equal(t, "25%", b.Spec.MaxUnavailable.String(), pdb)
			assert.Equal(t, map[string]string{"app": deploy}, b.Spec.Selector.MatchLabels)
			assert.Equal(t, d.Spec.Template.Labels["app"], b.Spec.Selector.MatchLabels["app"], "the PDB selects the pods")
		}
	})
	t.Run("without HA one replica each and no PDB", func(t *testing.T) {
		r := template(t, chartNS)
		for _, deploy := range []string{"dapr-sentry", "dapr-sidecar-injector"} {
			d := get[appsv1.Deployment](t, r, "Deployment", deploy)
			assert.Equal(t, int32(1), *d.Spec.Replicas)
			assert.Nil(t, d.Spec.Template.Spec.Affinity)
		}
		for k := range r {
			assert.False(t, strings.HasPrefix(k, "PodDisruptionBudget/"), k)
		}
	})
	t.Run("minimumAvailable replaces maxUnavailable", func(t *testing.T) {
		r := template(t, chartNS, "--set", "global.ha.enabled=true", "--set", "global.ha.disruption.minimumAvailable=2")
		b := get[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", "dapr-sentry-budget")
		assert.Equal(t, "2", b.Spec.MinAvailable.String())
		assert.Nil(t, b.Spec.MaxUnavailable)
	})
}

func TestChartMTLS(t *testing.T) {
	t.Run("daprsystem carries global.mtls", func(t *testing.T) {
		r := template(t, chartNS, "--set", "global.mtls.enabled=false", "--set", "global.mtls.workloadCertTTL=2h", "--set", "global.mtls.allowedClockSkew=5m")
		mtls, _, _ := unstructured.NestedMap(r[key("Configuration", "daprsystem")].Object, "spec", "mtls")
		assert.Equal(t, false, mtls["enabled"])
		assert.Equal(t, "2h", mtls["workloadCertTTL"])
		assert.Equal(t, "5m", mtls["allowedClockSkew"])
		assert.Equal(t, "dapr-sentry."+chartNS+".svc:443", mtls["sentryAddress"])
	})
	t.Run("workload mTLS off leaves the control plane's own mTLS as it is", func(t *testing.T) {
		on, off := template(t, chartNS), template(t, chartNS, "--set", "global.mtls.enabled=false")
		for _, deploy := range []string{"dapr-sentry", "dapr-sidecar-injector"} {
			assert.Equal(t, get[appsv1.Deployment](t, on, "Deployment", deploy).Spec, get[appsv1.Deployment](t, off, "Deployment", deploy).Spec, deploy)
		}
	})
}

func TestChartWorkloads(t *testing.T) {
	r := template(t, chartNS, "--set", "global.tag=9.9.9", "--set", "dapr_sidecar_injector.image.name=registry.example/daprd", "--set", "dapr_sidecar_injector.image.tag=1.2.3")
	sentry := get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry")
	injector := get[appsv1.Deployment](t, r, "Deployment", "dapr-sidecar-injector")

	t.Run("images and tags come from the values", func(t *testing.T) {
		assert.Equal(t, "ghcr.io/trustplane/sentry:9.9.9", sentry.Spec.Template.Spec.Containers[0].Image)
		assert.Equal(t, "ghcr.io/trustplane/injector:9.9.9", injector.Spec.Template.Spec.Containers[0].Image)
		assert.Equal(t, "registry.example/daprd:1.2.3", envValue(&injector.Spec.Template.Spec.Containers[0], "SIDECAR_IMAGE"))
	})
	t.Run("native sidecars are off by default and nativeSidecar turns them on", func(t *testing.T) {
		assert.Empty(t, envValue(&injector.Spec.Template.Spec.Containers[0], "NATIVE_SIDECAR_ENABLED"))
		native := get[appsv1.Deployment](t, template(t, chartNS, "--set", "dapr_sidecar_injector.nativeSidecar=true"), "Deployment", "dapr-sidecar-injector")
		assert.Equal(t, "true", envValue(&native.Spec.Template.Spec.Containers[0], "NATIVE_SIDECAR_ENABLED"))
	})
	t.Run("the sidecar is hardened and virtual-node pods get daprd as command by default; each is a value", func(t *testing.T) {
		c := &injector.Spec.Template.Spec.Containers[0]
		for env, want := range map[string]string{
			"SIDECAR_RUN_AS_NON_ROOT": "true", "SIDECAR_READ_ONLY_ROOT_FILESYSTEM": "true", "SIDECAR_DROP_ALL_CAPABILITIES": "true",
			"ENABLE_K8S_DOWNWARD_APIS": "false", "IGNORE_ENTRYPOINT_TOLERATIONS": sidecar.VirtualNodeTolerations,
		} {
			assert.Equal(t, want, envValue(c, env), env)
		}
		relaxed := get[appsv1.Deployment](t, template(t, chartNS,
			"--set", "dapr_sidecar_injector.sidecarRunAsNonRoot=false", "--set", "dapr_sidecar_injector.sidecarRunAsUser=0",
			"--set", "dapr_sidecar_injector.enableK8sDownwardAPIs=true", "--set", "dapr_sidecar_injector.ignoreEntrypointTolerations="),
			"Deployment", "dapr-sidecar-injector")
		rc := &relaxed.Spec.Template.Spec.Containers[0]
		assert.Equal(t, "false", envValue(rc, "SIDECAR_RUN_AS_NON_ROOT"))
		assert.Equal(t, "0", envValue(rc, "SIDECAR_RUN_AS_USER"))
		assert.Equal(t, "true", envValue(rc, "ENABLE_K8S_DOWNWARD_APIS"))
		assert.Empty(t, envValue(rc, "IGNORE_ENTRYPOINT_TOLERATIONS"))
	})
	t.Run("hostNetwork puts the injector in the node's network with cluster DNS", func(t *testing.T) {
		assert.False(t, injector.Spec.Template.Spec.HostNetwork, "off by default")
		h := get[appsv1.Deployment](t, template(t, chartNS, "--set", "dapr_sidecar_injector.hostNetwork=true",
			"--set", "dapr_sidecar_injector.port=14000", "--set", "dapr_sidecar_injector.healthzPort=18080"), "Deployment", "dapr-sidecar-injector")
		pod := h.Spec.Template.Spec
		assert.True(t, pod.HostNetwork)
		assert.Equal(t, corev1.DNSClusterFirstWithHostNet, pod.DNSPolicy)
		assert.Equal(t, int32(14000), pod.Containers[0].Ports[0].ContainerPort, "the webhook port is the node port")
		assert.False(t, get[appsv1.Deployment](t, template(t, chartNS, "--set", "dapr_sidecar_injector.hostNetwork=true"),
			"Deployment", "dapr-sentry").Spec.Template.Spec.HostNetwork, "Sentry stays in the pod network")
	})
	t.Run("root as the sidecar user while non-root is required is refused", func(t *testing.T) {
		assert.Contains(t, templateFails(t, "dapr_sidecar_injector.sidecarRunAsUser=0"), "sidecarRunAsUser 0 is root: set sidecarRunAsNonRoot=false too")
	})
	for _, d := range []*appsv1.Deployment{sentry, injector} {
		t.Run(d.Name+" runs as non-root with probes, resources and Prometheus annotations", func(t *testing.T) {
			pod := d.Spec.Template
			require.Len(t, pod.Spec.Containers, 1)
			c := pod.Spec.Containers[0]
			assert.True(t, *pod.Spec.SecurityContext.RunAsNonRoot)
			assert.True(t, *c.SecurityContext.RunAsNonRoot)
			assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
			assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
			assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
			wantLive := map[string]string{"dapr-sentry": "/livez", "dapr-sidecar-injector": "/livez"}[d.Name]
			assert.Equal(t, wantLive, c.LivenessProbe.HTTPGet.Path, "liveness, so that a Sentry waiting for its bundle is not restarted")
			assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			assert.Equal(t, "healthz", c.LivenessProbe.HTTPGet.Port.String())
			assert.NotEmpty(t, c.Resources.Requests)
			assert.Equal(t, "true", pod.Annotations["prometheus.io/scrape"])
			assert.Equal(t, "9090", pod.Annotations["prometheus.io/port"])
			assert.Equal(t, "9090", flagValue(c.Args, "--metrics-port"))
			assert.Equal(t, int32(9090), containerPort(&c, "metrics"))
			assert.Equal(t, flagValue(c.Args, "--healthz-port"), strconv.Itoa(int(containerPort(&c, "healthz"))))
		})
	}
	t.Run("the Services map 443 to the gRPC and webhook ports", func(t *testing.T) {
		s := get[corev1.Service](t, r, "Service", "dapr-sentry")
		assert.Equal(t, int32(443), s.Spec.Ports[0].Port)
		assert.Equal(t, "grpc", s.Spec.Ports[0].TargetPort.String())
		assert.Equal(t, "tls", *s.Spec.Ports[0].AppProtocol)
		assert.Equal(t, int32(50001), containerPort(&sentry.Spec.Template.Spec.Containers[0], "grpc"))
		i := get[corev1.Service](t, r, "Service", "dapr-sidecar-injector")
		assert.Equal(t, int32(443), i.Spec.Ports[0].Port)
		assert.Equal(t, "https", i.Spec.Ports[0].TargetPort.String())
		assert.Equal(t, int32(4000), containerPort(&injector.Spec.Template.Spec.Containers[0], "https"))
	})
	t.Run("metrics off removes ports, flags and annotations", func(t *testing.T) {
		off := template(t, chartNS, "--set", "global.prometheus.enabled=false")
		d := get[appsv1.Deployment](t, off, "Deployment", "dapr-sentry")
		assert.Contains(t, d.Spec.Template.Spec.Containers[0].Args, "--enable-metrics=false")
		assert.NotContains(t, d.Spec.Template.Annotations, "prometheus.io/scrape")
		assert.Len(t, get[corev1.Service](t, off, "Service", "dapr-sentry").Spec.Ports, 1)
	})
	t.Run("the PrometheusRule alerts on expiry and signing failures", func(t *testing.T) {
		on := template(t, chartNS, "--set", "prometheusRule.enabled=true")
		rule, ok := on[key("PrometheusRule", "dapr-sentry")]
		require.True(t, ok)
		b, err := yaml.Marshal(rule.Object)
		require.NoError(t, err)
		for _, m := range []string{"dapr_sentry_rootcert_expiry_timestamp", "dapr_sentry_issuercert_expiry_timestamp", "dapr_sentry_cert_expiry_warnings_total", "dapr_sentry_cert_sign_failure_total",
			webhook.MetricDuration + "_bucket", `dapr_injector_sidecar_injection_failed_total{reason="unauthorized"}`, "> 5"} {
			assert.Contains(t, string(b), m)
		}
		noInjector, err := yaml.Marshal(template(t, chartNS, "--set", "prometheusRule.enabled=true", "--set", "dapr_sidecar_injector.enabled=false")[key("PrometheusRule", "dapr-sentry")].Object)
		require.NoError(t, err)
		assert.NotContains(t, string(noInjector), "dapr_injector_", "no injector alerts without the injector")
		assert.NotContains(t, r, key("PrometheusRule", "dapr-sentry"), "off by default")
	})
}

func TestChartMatchesConfig(t *testing.T) {
	r := template(t, chartNS)
	t.Run("the RBAC is exactly config/rbac's, in the release namespace", func(t *testing.T) {
		for _, file := range []string{"sentry.yaml", "injector.yaml"} {
			data := readFile(t, filepath.Join(envtest.RepoRoot(), "config", "rbac", file))
			for _, doc := range strings.Split(string(data), "\n---\n") {
				var meta metav1.PartialObjectMetadata
				require.NoError(t, yaml.Unmarshal([]byte(doc), &meta))
				switch meta.Kind {
				case "ClusterRole":
					var want rbacv1.ClusterRole
					require.NoError(t, yaml.Unmarshal([]byte(doc), &want))
					assert.Equal(t, want.Rules, get[rbacv1.ClusterRole](t, r, meta.Kind, meta.Name).Rules, meta.Name)
				case "Role":
					var want rbacv1.Role
					require.NoError(t, yaml.Unmarshal([]byte(doc), &want))
					got := get[rbacv1.Role](t, r, meta.Kind, meta.Name)
					assert.Equal(t, want.Rules, got.Rules, meta.Name)
					assert.Equal(t, chartNS, got.Namespace)
				case "ClusterRoleBinding":
					var want rbacv1.ClusterRoleBinding
					require.NoError(t, yaml.Unmarshal([]byte(doc), &want))
					got := get[rbacv1.ClusterRoleBinding](t, r, meta.Kind, meta.Name)
					assert.Equal(t, want.RoleRef, got.RoleRef)
					assert.Equal(t, inNamespace(want.Subjects), got.Subjects)
				case "RoleBinding":
					var want rbacv1.RoleBinding
					require.NoError(t, yaml.Unmarshal([]byte(doc), &want))
					got := get[rbacv1.RoleBinding](t, r, meta.Kind, meta.Name)
					assert.Equal(t, want.RoleRef, got.RoleRef)
					assert.Equal(t, inNamespace(want.Subjects), got.Subjects)
				default:
					t.Fatalf("unexpected %s in %s", meta.Kind, file)
				}
			}
		}
		for _, sa := range []string{"dapr-sentry", "dapr-injector"} {
			get[corev1.ServiceAccount](t, r, "ServiceAccount", sa)
		}
	})
	t.Run("the webhook is config/webhook's, in the release namespace, without a caBundle", func(t *testing.T) {
		var want admissionregistrationv1.MutatingWebhookConfiguration
		require.NoError(t, yaml.UnmarshalStrict(readFile(t, filepath.Join(envtest.RepoRoot(), "config", "webhook", "mutating.yaml")), &want))
		want.Webhooks[0].ClientConfig.Service.Namespace = chartNS
		sel := want.Webhooks[0].NamespaceSelector.MatchExpressions[0].Values
		sel[slices.Index(sel, "dapr-system")] = chartNS
		got := get[admissionregistrationv1.MutatingWebhookConfiguration](t, r, "MutatingWebhookConfiguration", "dapr-sidecar-injector")
		assert.Equal(t, want.Webhooks, got.Webhooks)
		assert.Empty(t, got.Webhooks[0].ClientConfig.CABundle)
	})
	t.Run("the chart's CRDs are config/crd/bases's (make generate keeps them equal)", func(t *testing.T) {
		src, err := filepath.Glob(filepath.Join(envtest.RepoRoot(), "config", "crd", "bases", "*.yaml"))
		require.NoError(t, err)
		dst, err := filepath.Glob(filepath.Join(chartDir(), "crds", "*.yaml"))
		require.NoError(t, err)
		require.Len(t, dst, len(src))
		for _, f := range src {
			assert.Equal(t, readFile(t, f), readFile(t, filepath.Join(chartDir(), "crds", filepath.Base(f))), f)
		}
		assert.Contains(t, r, key("CustomResourceDefinition", "configurations.dapr.io"))
	})
}

func inNamespace(subjects []rbacv1.Subject) []rbacv1.Subject {
	out := slices.Clone(subjects)
	for i := range out {
		out[i].Namespace = chartNS
	}
	return out
}

func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// flagValue is the value after the last occurrence of flag in args.
func flagValue(args []string, flag string) string {
	v := ""
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			v = args[i+1]
		} else if strings.HasPrefix(a, flag+"=") {
			v = strings.TrimPrefix(a, flag+"=")
		}
	}
	return v
}

func containerPort(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func TestChartJWTAndOIDC(t *testing.T) {
	t.Run("jwt and oidc values become Sentry's flags, a container port and a Service port", func(t *testing.T) {
		r := template(t, chartNS, "--set", "dapr_sentry.jwt.enabled=true", "--set", "dapr_sentry.jwt.issuer=https://sentry.example.com",
			"--set", "dapr_sentry.jwt.signingAlgorithm=ES256", "--set", "dapr_sentry.jwt.keyID=k1", "--set", "dapr_sentry.jwt.ttl=1h",
			"--set", "dapr_sentry.oidc.enabled=true", "--set", "dapr_sentry.oidc.server.port=9443", "--set", "dapr_sentry.oidc.pathPrefix=/sentry",
			"--set", "dapr_sentry.oidc.allowedHosts={a.example.com,b.example.com}", "--set", "dapr_sentry.oidc.jwksURI=https://keys.example.com/jwks.json",
			"--set", "dapr_sentry.oidc.tls.enabled=true", "--set", "dapr_sentry.oidc.tls.certFile=/tls/tls.crt", "--set", "dapr_sentry.oidc.tls.keyFile=/tls/tls.key")
		c := &get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry").Spec.Template.Spec.Containers[0]
		assert.Contains(t, c.Args, "--jwt-enabled")
		assert.Contains(t, c.Args, "--oidc-enabled")
		for flag, want := range map[string]string{
			"--jwt-issuer": "https://sentry.example.com", "--jwt-signing-algorithm": "ES256", "--jwt-key-id": "k1", "--jwt-ttl": "1h",
			"--oidc-server-listen-port": "9443", "--oidc-path-prefix": "/sentry", "--oidc-allowed-hosts": "a.example.com,b.example.com",
			"--oidc-jwks-uri": "https://keys.example.com/jwks.json", "--oidc-server-tls-enabled": "true",
			"--oidc-server-tls-cert-file": "/tls/tls.crt", "--oidc-server-tls-key-file": "/tls/tls.key",
		} {
			assert.Equal(t, want, flagValue(c.Args, flag), flag)
		}
		assert.Contains(t, c.Args, "--oidc-server-listen-address=", "the OIDC server listens on every interface, not localhost")
		assert.Equal(t, int32(9443), containerPort(c, "oidc"))
		svc := get[corev1.Service](t, r, "Service", "dapr-sentry")
		var found bool
		for _, p := range svc.Spec.Ports {
			if p.Name == "oidc" {
				found = true
				assert.Equal(t, int32(9443), p.Port)
				assert.Equal(t, "oidc", p.TargetPort.String())
				assert.Equal(t, "https", *p.AppProtocol)
			}
		}
		assert.True(t, found, "the Service exposes the OIDC port")
	})
	t.Run("a TLS Secret is mounted read-only and its files become the OIDC flags", func(t *testing.T) {
		r := template(t, chartNS, "--set", "dapr_sentry.jwt.enabled=true", "--set", "dapr_sentry.jwt.issuer=https://sentry.example.com",
			"--set", "dapr_sentry.oidc.enabled=true", "--set", "dapr_sentry.oidc.tls.enabled=true", "--set", "dapr_sentry.oidc.tls.secretName=oidc-tls",
			"--set", "dapr_sentry.oidc.tls.keyFile=key.pem")
		spec := get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry").Spec.Template.Spec
		c := &spec.Containers[0]
		assert.Equal(t, "/var/run/secrets/dapr.io/oidc-tls/tls.crt", flagValue(c.Args, "--oidc-server-tls-cert-file"), "the Secret's tls.crt by default")
		assert.Equal(t, "/var/run/secrets/dapr.io/oidc-tls/key.pem", flagValue(c.Args, "--oidc-server-tls-key-file"), "a file name is looked up in the mount")
		require.Len(t, c.VolumeMounts, 1)
		assert.Equal(t, corev1.VolumeMount{Name: "oidc-tls", MountPath: "/var/run/secrets/dapr.io/oidc-tls", ReadOnly: true}, c.VolumeMounts[0])
		require.Len(t, spec.Volumes, 1)
		require.NotNil(t, spec.Volumes[0].Secret)
		assert.Equal(t, "oidc-tls", spec.Volumes[0].Secret.SecretName)
		assert.Equal(t, int32(0o440), *spec.Volumes[0].Secret.DefaultMode, "readable by Sentry's group (fsGroup), by nobody else")
	})
	t.Run("without OIDC TLS no volume is mounted", func(t *testing.T) {
		r := template(t, chartNS, "--set", "dapr_sentry.jwt.enabled=true", "--set", "dapr_sentry.jwt.issuer=https://sentry.example.com",
			"--set", "dapr_sentry.oidc.enabled=true", "--set", "dapr_sentry.oidc.tls.enabled=false", "--set", "dapr_sentry.oidc.tls.secretName=oidc-tls")
		spec := get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry").Spec.Template.Spec
		assert.Empty(t, spec.Volumes)
		assert.Empty(t, spec.Containers[0].VolumeMounts)
		assert.Contains(t, spec.Containers[0].Args, "--oidc-server-tls-enabled=false")
	})
	t.Run("by default neither flags nor ports", func(t *testing.T) {
		r := template(t, chartNS)
		c := &get[appsv1.Deployment](t, r, "Deployment", "dapr-sentry").Spec.Template.Spec.Containers[0]
		for _, a := range c.Args {
			assert.False(t, strings.HasPrefix(a, "--jwt") || strings.HasPrefix(a, "--oidc"), a)
		}
		assert.Zero(t, containerPort(c, "oidc"))
		for _, p := range get[corev1.Service](t, r, "Service", "dapr-sentry").Spec.Ports {
			assert.NotEqual(t, "oidc", p.Name)
		}
	})
	for name, c := range map[string]struct {
		sets []string
		want string
	}{
		"a misspelt key under jwt is rejected by the schema": {[]string{"dapr_sentry.jwt.enabld=true"}, "values don't meet the specifications of the schema"},
		"an unknown signing algorithm is rejected":           {[]string{"dapr_sentry.jwt.signingAlgorithm=HS256"}, "values don't meet the specifications of the schema"},
		"a misspelt key under oidc is rejected":              {[]string{"dapr_sentry.oidc.tls.certfile=x"}, "values don't meet the specifications of the schema"},
		"oidc without jwt is refused":                        {[]string{"dapr_sentry.oidc.enabled=true"}, "needs dapr_sentry.jwt.enabled"},
		"oidc is HTTPS by default: without a certificate it is refused, never plain HTTP": {[]string{"dapr_sentry.jwt.enabled=true", "dapr_sentry.oidc.enabled=true"},
			"dapr_sentry.oidc.tls.enabled needs"},
		"oidc TLS without a Secret or files is refused": {[]string{"dapr_sentry.jwt.enabled=true", "dapr_sentry.jwt.issuer=https://x.example",
			"dapr_sentry.oidc.enabled=true", "dapr_sentry.oidc.tls.enabled=true"}, "needs dapr_sentry.oidc.tls.secretName (a kubernetes.io/tls Secret) or certFile and keyFile"},
		"a Secret name that is not a Kubernetes name is rejected": {[]string{"dapr_sentry.oidc.tls.secretName=Not_A_Name"}, "values don't meet the specifications of the schema"},
	} {
		t.Run(name, func(t *testing.T) { assert.Contains(t, templateFails(t, c.sets...), c.want) })
	}
}
