package injector

import (
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/injectorproc"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// The warnings the injector logs, once each, under Dapr's RBAC: one per
// feature that needs more than Dapr grants, and the one rule Dapr grants
// that the injector should not have (pkg/injector/server/rbac_test.go has
// their whole text).
var daprRBACWarnings = []string{
	"Re-checking the webhook caBundle on a timer instead of watching it: RBAC does not allow list, watch on mutatingwebhookconfigurations.admissionregistration.k8s.io named dapr-sidecar-injector cluster-wide;",
	"Polling the Configuration instead of watching it: RBAC does not allow list, watch on configurations.dapr.io named daprsystem in namespace dapr-system;",
	"The token Secret check is off in every namespace that does not allow it: RBAC does not allow get on secrets cluster-wide;",
	"The injector can read the CA key: RBAC allows get on secrets named dapr-trust-bundle in namespace dapr-system,",
}

// daprInjector is what Dapr v1.18.3's chart runs as the injector, with
// Dapr's defaults: the container's args and env, and the
// MutatingWebhookConfiguration.
type daprInjector struct {
	args    []string
	env     []string
	webhook admissionregistrationv1.MutatingWebhookConfiguration
}

// renderDaprInjector renders Dapr's chart, checks that test/cluster's
// profile of the injector's RBAC is exactly the chart's, and returns the
// injector's args (but "--metrics-port 9090" and "--healthz-port 8080",
// for which the harness passes free ports) and env (NAMESPACE resolved
// from the downward API).
func renderDaprInjector(t *testing.T) daprInjector {
	t.Helper()
	chart := cluster.RenderDaprChart(t)
	var cr rbacv1.ClusterRole
	chart.Get(t, "ClusterRole", "dapr-injector", &cr)
	require.Equal(t, cluster.DaprInjectorClusterRules, cr.Rules, "test/cluster's profile is the chart's ClusterRole")
	var role rbacv1.Role
	chart.Get(t, "Role", "dapr-injector", &role)
	require.Equal(t, cluster.DaprInjectorRules, role.Rules, "test/cluster's profile is the chart's Role")

	var d daprInjector
	chart.Get(t, "MutatingWebhookConfiguration", webhookName, &d.webhook)
	var dep appsv1.Deployment
	chart.Get(t, "Deployment", "dapr-sidecar-injector", &dep)
	c := dep.Spec.Template.Spec.Containers[0]
	require.Equal(t, []string{"/injector"}, c.Command)
	for i := 0; i < len(c.Args); i++ {
		if a := c.Args[i]; a == "--metrics-port" || a == "--healthz-port" {
			i++
			continue
		}
		d.args = append(d.args, c.Args[i])
	}
	require.Len(t, d.args, len(c.Args)-4, "the chart passes --metrics-port and --healthz-port: %v", c.Args)
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			d.env = append(d.env, e.Name+"="+controlPlaneNS)
		case e.ValueFrom == nil:
			d.env = append(d.env, e.Name+"="+e.Value)
		default:
			t.Fatalf("unexpected env %s in Dapr's chart", e.Name)
		}
	}
	var mounts []string
	for _, m := range c.VolumeMounts {
		mounts = append(mounts, m.MountPath)
	}
	require.ElementsMatch(t, []string{"/var/run/secrets/dapr.io/tls", "/var/run/secrets/dapr.io/sentrytoken"}, mounts,
		"the chart mounts the anchors ConfigMap and the projected token, which the test plays")
	return d
}

// setEnv replaces (or adds) name in env.
func setEnv(env []string, name, value string) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, name+"=") })
	return append(out, name+"="+value)
}

// health GETs path on the injector's health port.
func health(t *testing.T, p *injectorproc.Proc, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + p.HealthAddr + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// warnings collects the admission warnings the API server returns.
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

// warningClient is an admin client that collects warnings.
func (c *icluster) warningClient(t *testing.T) (kubernetes.Interface, *warnings) {
	t.Helper()
	w := &warnings{}
	cfg := rest.CopyConfig(c.Env.Config)
	cfg.WarningHandler = w
	return kubernetes.NewForConfigOrDie(cfg), w
}

// startSentryOn runs the real sentry in Kubernetes mode as dapr-sentry, on
// a given port (so that a restarted one is at the same address).
func (c *icluster) startSentryOn(t *testing.T, port int, kubeconfig string) *sentryproc.Proc {
	t.Helper()
	return sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: []string{"--mode", "kubernetes", "--kubeconfig", kubeconfig, "--trust-domain", "cluster.local", "--port", fmt.Sprint(port)},
		Env:  []string{"NAMESPACE=" + controlPlaneNS},
		ID:   spiffeIDOf(t, sentryID),
	})
}

// registerDaprWebhook creates Dapr's MutatingWebhookConfiguration as its
// chart renders it, but for the Service port, and the Service it names as
// an ExternalName of 127.0.0.1 (see registerWebhook).
func (c *icluster) registerDaprWebhook(t *testing.T, mwc admissionregistrationv1.MutatingWebhookConfiguration, port int) {
	t.Helper()
	require.Len(t, mwc.Webhooks, 1)
	require.Empty(t, mwc.Webhooks[0].ClientConfig.CABundle, "Dapr's chart leaves the caBundle to the injector")
	mwc.Webhooks[0].ClientConfig.Service.Port = ptr.To(int32(port))
	_, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(cctx(t), &mwc, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.CoreV1().Services(controlPlaneNS).Create(cctx(t), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: mwc.Webhooks[0].ClientConfig.Service.Name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

func TestInjectorStartsLikeDaprsUnderDaprsRBAC(t *testing.T) {
	dapr := renderDaprInjector(t)
	c := &icluster{cluster.New(t, cluster.Options{SentryRBAC: cluster.DaprRBAC})}
	c.EmptyTrustBundle(t)
	c.UseDaprInjectorRBAC(t)
	sentryKubeconfig := c.Kubeconfig(t, "dapr-sentry")
	sentryPort := injectorproc.FreePort(t)

	// Sentry fills the chart's empty bundle; the kubelet would mount the
	// ConfigMap's ca.crt at DAPR_TRUST_ANCHORS_FILE.
	first := c.startSentryOn(t, sentryPort, sentryKubeconfig)
	anchors := c.Anchors(t)
	first.Stop(t)
	anchorsFile := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(anchorsFile, anchors, 0o600))

	env := setEnv(dapr.env, "DAPR_TRUST_ANCHORS_FILE", anchorsFile)
	env = setEnv(env, "DAPR_SENTRY_ADDRESS", fmt.Sprintf("127.0.0.1:%d", sentryPort))
	port := injectorproc.FreePort(t)
	inj := injectorproc.Launch(t, injectorBin, port, injectorproc.Options{
		Args: append(slices.Clone(dapr.args),
			"--kubeconfig", c.Kubeconfig(t, "dapr-injector"), // in-cluster config outside a pod
			"--token-file", c.injectorToken(t, "dapr-sidecar-injector-dapr"), // the chart's projected token
		),
		Env: env,
	})

	t.Run("without a certificate the injector is live but not ready", func(t *testing.T) {
		require.Eventually(t, func() bool { return strings.Contains(inj.Logs.String(), "Cannot fetch initial identity") }, 30*time.Second, 20*time.Millisecond)
		code, body := health(t, inj, "/healthz")
		assert.Equal(t, http.StatusServiceUnavailable, code, "Dapr's chart probes /healthz for readiness")
		for _, check := range []string{"sentry-identity", "webhook-server", "webhook-configuration"} {
			assert.Contains(t, body, check)
		}
		code, _ = health(t, inj, "/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		code, _ = health(t, inj, "/livez")
		assert.Equal(t, http.StatusOK, code, "liveness: the process serves")
	})

	c.startSentryOn(t, sentryPort, sentryKubeconfig)
	t.Run("with its certificate and webhook server but no caBundle yet, still not ready", func(t *testing.T) {
		var body string
		require.Eventually(t, func() bool {
			_, body = health(t, inj, "/healthz")
			return !strings.Contains(body, "sentry-identity") && !strings.Contains(body, "webhook-server")
		}, 30*time.Second, 50*time.Millisecond, "the SVID arrives from the restarted Sentry: %s", body)
		for range 5 {
			code, body := health(t, inj, "/healthz")
			require.Equal(t, http.StatusServiceUnavailable, code, body)
			require.Contains(t, body, "webhook-configuration", "Dapr's MutatingWebhookConfiguration does not exist yet")
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("the webhook serves an RSA 2048 certificate for the Service name, as Dapr's", func(t *testing.T) {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the key type is checked, not the chain
		require.NoError(t, err)
		defer conn.Close()
		leaf := conn.ConnectionState().PeerCertificates[0]
		pub, ok := leaf.PublicKey.(*rsa.PublicKey)
		require.True(t, ok, "%T", leaf.PublicKey)
		assert.Equal(t, 2048, pub.N.BitLen())
		assert.Equal(t, []string{"dapr-sidecar-injector.dapr-system.svc"}, leaf.DNSNames)
		assert.Equal(t, "spiffe://cluster.local/ns/dapr-system/dapr-injector", leaf.URIs[0].String())
	})

	c.registerDaprWebhook(t, dapr.webhook, port)
	t.Run("ready once the caBundle of Dapr's MutatingWebhookConfiguration is patched, by patch alone", func(t *testing.T) {
		require.Eventually(t, func() bool { code, _ := health(t, inj, "/healthz"); return code == http.StatusOK }, 30*time.Second, 50*time.Millisecond)
		assert.Equal(t, string(anchors), string(c.caBundle(t)), "patched before ready")
		code, _ := health(t, inj, "/readyz")
		assert.Equal(t, http.StatusOK, code)
	})

	c.Namespace(t, "shop")
	client, seen := c.warningClient(t)
	t.Run("an annotated pod is admitted with daprd; its missing token Secret is a warning, not a denial", func(t *testing.T) {
		created, err := client.CoreV1().Pods("shop").Create(cctx(t), appPod("orders-1", map[string]string{
			"dapr.io/enabled": "true", "dapr.io/app-id": "orders", "dapr.io/api-token-secret": "missing",
		}), metav1.CreateOptions{})
		require.NoError(t, err, "Dapr's RBAC cannot read Secrets in shop: the check falls back to a warning")
		daprd := containerNamed(created, "daprd")
		require.NotNil(t, daprd, "injected")
		assert.Equal(t, "ghcr.io/dapr/daprd:edge", daprd.Image, "SIDECAR_IMAGE from Dapr's chart")
		assert.Contains(t, daprd.Args, "--enable-mtls", "daprsystem read with get alone (missing: mTLS on)")
		require.NotNil(t, envNamed(daprd, "DAPR_API_TOKEN"))
		assert.Contains(t, seen.all(), `could not verify dapr.io/api-token-secret Secret missing: the sidecar will not start until it exists with key "token"`)
	})

	logs := inj.Logs.String()
	lines := strings.Split(logs, "\n")
	for _, w := range daprRBACWarnings {
		var found []string
		for _, l := range lines {
			if strings.Contains(l, w) {
				found = append(found, l)
			}
		}
		if assert.Len(t, found, 1, "warned once: %q", w) {
			assert.Contains(t, found[0], "\twarning\t")
			t.Log(found[0])
		}
	}
	assert.Contains(t, logs, "Authenticating to Sentry with the projected service-account token")
	for _, l := range lines {
		assert.NotContains(t, strings.ToLower(l), "forbidden", "no request was refused")
		assert.NotContains(t, l, "\terror\t", "no error was logged")
	}
}
