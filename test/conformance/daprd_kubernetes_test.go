//go:build daprd

package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/daprbin"
	"github.com/trustplane/trustplane/test/proc"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// Two real daprds in Kubernetes mode, each run with exactly the arguments
// and environment our injector gives the daprd container of its pod (ports
// moved to free ones, downward-API and Secret references resolved as the
// kubelet would), take their SVIDs from our Sentry through the Kubernetes
// validator with pod-bound projected tokens from envtest — Sentry under
// Dapr's chart RBAC — load their Configuration through Dapr v1.18.3's
// operator (itself on an SVID from our Sentry), and invoke each other over
// mTLS with the API and app tokens from the Secrets the pods name.
func TestDaprdInKubernetesModeWithOurInjectorsSidecar(t *testing.T) {
	daprbin.Daprd(t) // fail first when it is not built
	c := cluster.New(t, cluster.Options{SentryRBAC: cluster.DaprRBAC})
	c.EmptyTrustBundle(t)
	installDaprCRDs(t, c)
	s := sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: []string{"--mode", "kubernetes", "--log-level", "info", "--enable-metrics", "--trust-domain", "cluster.local",
			"--kubeconfig", c.Kubeconfig(t, "dapr-sentry")},
		Env: []string{"NAMESPACE=" + cluster.ControlPlaneNamespace},
		ID:  sentryID(),
	})
	anchors := c.Anchors(t)
	c.ApplyConfiguration(t, cluster.ControlPlaneNamespace, "daprsystem", map[string]any{
		"mtls": map[string]any{"enabled": true, "sentryAddress": s.GRPCAddr, "controlPlaneTrustDomain": "cluster.local"},
	})
	operator := startDaprOperator(t, c, anchors)

	const ns = "shop"
	const apiToken, appToken = "api-token-of-a", "app-token-of-b"
	c.Namespace(t, ns)
	for name, token := range map[string]string{"a-api-token": apiToken, "b-app-token": appToken} {
		_, err := c.Client.CoreV1().Secrets(ns).Create(cluster.Context(t), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{sidecar.TokenSecretKey: []byte(token)},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	portsA, portsB := freeDaprdPorts(t), freeDaprdPorts(t)
	// daprd's Kubernetes name resolver, with a template instead of the
	// Service DNS names envtest cannot resolve.
	c.ApplyConfiguration(t, ns, "appconfig", map[string]any{
		"nameResolution": map[string]any{"component": "kubernetes", "configuration": map[string]any{
			"template": fmt.Sprintf(`{{if eq .ID "a"}}127.0.0.1:%d{{end}}{{if eq .ID "b"}}127.0.0.1:%d{{end}}`, portsA.internal, portsB.internal),
		}},
	})
	cfg := sidecar.Config{
		ControlPlaneNamespace: cluster.ControlPlaneNamespace,
		SidecarImage:          "ghcr.io/dapr/daprd:1.18.2",
		TrustAnchors:          string(anchors),
		MTLSEnabled:           true,
		SentryAddress:         s.GRPCAddr,
		ControlPlaneAddress:   operator,
		DisablePlacement:      true,
		DisableScheduler:      true,
		HostIPEnv:             true,
	}

	appA, appB := startApp(t, "hello from a"), startApp(t, "hello from b")
	b := startInjectedDaprd(t, c, ns, "b", appB, portsB, cfg, map[string]string{"dapr.io/app-token-secret": "b-app-token"})
	a := startInjectedDaprd(t, c, ns, "a", appA, portsA, cfg, map[string]string{"dapr.io/api-token-secret": "a-api-token"})
	b.waitUp(t)
	a.waitUp(t)

	t.Run("our Sentry signed the operator and both daprds", func(t *testing.T) {
		assert.GreaterOrEqual(t, s.Counter(t, "dapr_sentry_cert_sign_success_total"), 3.0)
	})
	t.Run("both daprds loaded their Configuration through Dapr's operator", func(t *testing.T) {
		for _, d := range []*daprd{a, b} {
			logs := d.logs.String()
			assert.Contains(t, logs, "Initializing the operator client", d.appID)
			assert.Contains(t, logs, "Loading Kubernetes config resource: appconfig", d.appID)
			assert.Contains(t, logs, "using custom template", d.appID) // appconfig's name resolution
		}
	})
	t.Run("B's daprd serves its internal API with mTLS and our SVID", func(t *testing.T) {
		assertServesOurSVID(t, portsB.internal, anchors, "spiffe://public/ns/"+ns+"/b")
	})
	t.Run("A invokes B over daprd-to-daprd mTLS", func(t *testing.T) {
		code, body := a.invoke(t, "b", apiToken)
		require.Equal(t, 200, code, body)
		assert.Equal(t, "hello from b", body)
	})
	t.Run("A's API refuses a call without the token of its Secret", func(t *testing.T) {
		code, body := a.invoke(t, "b", "")
		assert.Equal(t, 401, code, body)
	})
	t.Run("B's app receives the token of its Secret as dapr-api-token", func(t *testing.T) {
		tokens := appB.receivedTokens()
		require.NotEmpty(t, tokens)
		for _, tok := range tokens {
			assert.Equal(t, appToken, tok)
		}
	})
}

// installDaprCRDs creates the CRDs of Dapr's chart that the cluster lacks
// (Dapr's operator watches them all); the Configuration and Component CRDs
// cluster.New installed stay.
func installDaprCRDs(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	client := apiextensionsclient.NewForConfigOrDie(c.Env.Config).ApiextensionsV1().CustomResourceDefinitions()
	files, err := filepath.Glob(filepath.Join(daprbin.ChartDir(t), "crds", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var crd apiextensionsv1.CustomResourceDefinition
		require.NoError(t, yaml.Unmarshal(data, &crd), f)
		if _, err := client.Get(cluster.Context(t), crd.Name, metav1.GetOptions{}); err == nil {
			continue
		}
		// The conversion webhook is the operator's, which runs here with
		// ENABLE_WEBHOOKS=false; one stored version needs none.
		crd.Spec.Conversion = nil
		_, err = client.Create(cluster.Context(t), &crd, metav1.CreateOptions{})
		require.NoError(t, err, f)
		require.Eventually(t, func() bool {
			got, err := client.Get(cluster.Context(t), crd.Name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true
				}
			}
			return false
		}, 30*time.Second, 50*time.Millisecond, "%s established", crd.Name)
	}
}

// startDaprOperator runs Dapr v1.18.3's operator (daprd's control-plane
// address in Kubernetes mode) with the token of a pod of ServiceAccount
// dapr-operator, and returns its API's host:port once it is ready.
func startDaprOperator(t *testing.T, c *cluster.Cluster, anchors []byte) string {
	t.Helper()
	// Dapr's chart annotates its control-plane pods so; Sentry then
	// expects the ID dapr-operator.
	token, _ := c.PodToken(t, cluster.ControlPlaneNamespace, "dapr-operator", "dapr-operator-0",
		map[string]string{"dapr.io/control-plane": "operator"}, cluster.SentryID)
	projectSentryToken(t, token)
	anchorsFile := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(anchorsFile, anchors, 0o600))
	port := proc.FreePort(t)
	p := proc.Launch(t, daprbin.Path(t, daprbin.Operator), []string{
		"--listen-address", "127.0.0.1", "--port", strconv.Itoa(port),
		"--webhook-server-listen-address", "127.0.0.1", "--webhook-server-port", strconv.Itoa(proc.FreePort(t)),
		"--trust-anchors-file", anchorsFile, "--config", "daprsystem",
		"--disable-leader-election", "--disable-service-reconciler", "--watch-interval", "0",
	}, []string{
		"NAMESPACE=" + cluster.ControlPlaneNamespace, "KUBECONFIG=" + c.Env.Kubeconfig,
		"ENABLE_WEBHOOKS=false", "DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK=true",
	})
	waitHTTP(t, p, "http://"+p.HealthAddr+"/healthz")
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// startInjectedDaprd creates pod <appID>-0 in ns with a token bound to it,
// runs our injector's Inject on it and starts daprd with the daprd
// container's command line and environment, as the kubelet would (its
// ports moved to ports, downward-API and Secret references resolved,
// status.podIP as 127.0.0.1). It returns once daprd has its SVID: daprd
// reads the projected token from a fixed path, so the next pod's token can
// be put there only then.
func startInjectedDaprd(t *testing.T, c *cluster.Cluster, ns, appID string, app *testApp, ports daprdPorts, cfg sidecar.Config, annotations map[string]string) *daprd {
	t.Helper()
	ann := map[string]string{
		"dapr.io/enabled": "true", "dapr.io/app-id": appID, "dapr.io/app-port": strconv.Itoa(app.port),
		"dapr.io/config": "appconfig", "dapr.io/log-level": "debug",
	}
	for k, v := range annotations {
		ann[k] = v
	}
	token, pod := c.PodToken(t, ns, appID+"-sa", appID+"-0", ann, cluster.SentryID)
	injected, err := sidecar.Inject(pod, cfg)
	require.NoError(t, err)
	var ctr *corev1.Container
	for i := range injected.Spec.Containers {
		if injected.Spec.Containers[i].Name == sidecar.ContainerName {
			ctr = &injected.Spec.Containers[i]
		}
	}
	require.NotNil(t, ctr, "the injector added daprd")

	cmdline := append(append([]string{}, ctr.Command...), ctr.Args...)
	require.Equal(t, "/daprd", cmdline[0])
	args := movePorts(t, cmdline[1:], map[string]int{
		"--dapr-http-port": ports.http, "--dapr-grpc-port": ports.grpc, "--dapr-internal-grpc-port": ports.internal,
		"--dapr-public-port": ports.public, "--metrics-port": ports.metrics,
	})
	env := []string{
		"DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK=true", // tests run as root
		// In a pod, daprd's built-in Kubernetes secret store uses the
		// in-cluster config of the pod's ServiceAccount; here a kubeconfig
		// of that ServiceAccount stands in for it.
		"KUBECONFIG=" + serviceAccountKubeconfig(t, c, ns, pod.Spec.ServiceAccountName),
	}
	for _, e := range ctr.Env {
		env = append(env, e.Name+"="+envValue(t, c, injected, e))
	}
	projectSentryToken(t, token)
	d := execDaprd(t, appID, ports, args, env)
	require.Eventually(t, func() bool {
		return strings.Contains(d.logs.String(), "Security is initialized successfully")
	}, daprdUp, 100*time.Millisecond, "daprd %s gets its SVID; logs:\n%s", appID, d.logs)
	return d
}

// movePorts replaces the value of each flag in ports, failing when the
// injector did not pass one.
func movePorts(t *testing.T, args []string, ports map[string]int) []string {
	t.Helper()
	out := append([]string{}, args...)
	for flag, port := range ports {
		found := false
		for i := 0; i+1 < len(out); i++ {
			if out[i] == flag {
				out[i+1] = strconv.Itoa(port)
				found = true
			}
		}
		require.True(t, found, "the injector passes %s: %q", flag, args)
	}
	return out
}

// envValue resolves an env var of the daprd container as the kubelet does.
func envValue(t *testing.T, c *cluster.Cluster, pod *corev1.Pod, e corev1.EnvVar) string {
	t.Helper()
	switch {
	case e.ValueFrom == nil:
		return e.Value
	case e.ValueFrom.FieldRef != nil:
		switch e.ValueFrom.FieldRef.FieldPath {
		case "metadata.name":
			return pod.Name
		case "metadata.namespace":
			return pod.Namespace
		case "status.podIP":
			return "127.0.0.1"
		}
	case e.ValueFrom.SecretKeyRef != nil:
		ref := e.ValueFrom.SecretKeyRef
		secret, err := c.Client.CoreV1().Secrets(pod.Namespace).Get(cluster.Context(t), ref.Name, metav1.GetOptions{})
		require.NoError(t, err, "Secret %s of %s", ref.Name, e.Name)
		return string(secret.Data[ref.Key])
	}
	t.Fatalf("env %s: unexpected source %+v", e.Name, e.ValueFrom)
	return ""
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as
// ServiceAccount sa of ns, as a pod's in-cluster config does.
func serviceAccountKubeconfig(t *testing.T, c *cluster.Cluster, ns, sa string) string {
	t.Helper()
	tr, err := c.Client.CoreV1().ServiceAccounts(ns).CreateToken(cluster.Context(t), sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.Env.Config.Host, CertificateAuthorityData: c.Env.Config.CAData}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[sa] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: sa, Namespace: ns}
	cfg.CurrentContext = sa
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}
