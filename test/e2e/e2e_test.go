package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/security"
	"github.com/trustplane/trustplane/test/injectorproc"
	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
)

const (
	release  = "trustplane"
	cpNS     = "trust-system" // not dapr-system: the chart must follow the release namespace
	appNS    = "shop"
	sentryID = "spiffe://cluster.local/ns/" + cpNS + "/dapr-sentry"
)

func TestInstalledProduct(t *testing.T) {
	start := time.Now()
	env, c := startCluster(t)
	before := c.clusterScoped(t)

	// 1. helm install with a brought CA.
	ca := writeCA(t, t.TempDir())
	t0 := time.Now()
	helm(t, env.Kubeconfig, append([]string{"install", release, chartDir(), "-n", cpNS, "--create-namespace",
		"--set", "global.mtls.workloadCertTTL=2h"}, ca.setFile()...)...)
	t.Logf("helm install: %s", time.Since(t0).Round(time.Millisecond))
	secret, err := c.client.CoreV1().Secrets(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
	require.NoError(t, err)
	for k, file := range map[string]string{"ca.crt": ca.root, "issuer.crt": ca.cert, "issuer.key": ca.key} {
		require.Equal(t, readFile(t, file), secret.Data[k], "the Secret holds the exact bytes of %s", file)
	}

	// 2. Sentry and the injector, as their Deployments run them.
	sp := c.runDeployment(t, cpNS, "dapr-sentry")
	sp.takePortFlags(t, map[string]string{"--port": "grpc", "--healthz-port": "healthz", "--metrics-port": "metrics"})
	sentry := sentryproc.Start(t, sentryBin, sentryproc.Options{
		Args: append(sp.args, "--kubeconfig", sp.kubeconfig), Env: sp.env, ID: spiffeid.RequireFromString(sentryID),
	})
	anchors := readFile(t, ca.root)

	ip := c.runDeployment(t, cpNS, "dapr-sidecar-injector")
	ip.takePortFlags(t, map[string]string{"--port": "https", "--healthz-port": "healthz", "--metrics-port": "metrics"})
	ip.setEnv("DAPR_SENTRY_ADDRESS", c.resolveService(t, ip.getEnv("DAPR_SENTRY_ADDRESS"), sp, sentry.GRPCAddr))
	port := injectorproc.FreePort(t)
	unroute := c.routeWebhook(t, ip, port)
	injector := injectorproc.Start(t, injectorBin, port, injectorproc.Options{Args: append(ip.args, "--kubeconfig", ip.kubeconfig), Env: ip.env})
	require.Eventually(t, func() bool { return string(c.caBundle(t)) == string(anchors) }, 30*time.Second, 100*time.Millisecond,
		"the injector sets the webhook caBundle to the brought root")
	assert.Contains(t, injector.Logs.String(), "spiffe://cluster.local/ns/"+cpNS+"/dapr-injector")
	t.Logf("control plane ready %s after start", time.Since(start).Round(time.Millisecond))

	// 3. An annotated pod is injected.
	c.namespace(t, appNS)
	for _, name := range []string{"dapr-api-token", "app-api-token"} {
		_, err := c.client.CoreV1().Secrets(appNS).Create(cctx(t), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"token": []byte("t0k3n-" + name)},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = c.client.CoreV1().ServiceAccounts(appNS).Create(cctx(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "orders"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	orders := c.appPod(t, "orders-1", map[string]string{
		"dapr.io/enabled": "true", "dapr.io/app-id": "orders",
		"dapr.io/api-token-secret": "dapr-api-token", "dapr.io/app-token-secret": "app-api-token",
	})
	var daprd *corev1.Container
	t.Run("the stored pod has daprd, the token Secrets and the Sentry token volume", func(t *testing.T) {
		daprd = containerNamed(orders, "daprd")
		require.NotNil(t, daprd)
		for env, secret := range map[string]string{"DAPR_API_TOKEN": "dapr-api-token", "APP_API_TOKEN": "app-api-token"} {
			e := envNamed(daprd, env)
			require.NotNil(t, e, env)
			require.NotNil(t, e.ValueFrom)
			require.NotNil(t, e.ValueFrom.SecretKeyRef)
			assert.Equal(t, secret, e.ValueFrom.SecretKeyRef.Name)
			assert.Equal(t, "token", e.ValueFrom.SecretKeyRef.Key)
		}
		assert.Equal(t, "ghcr.io/dapr/daprd:1.18.3", daprd.Image, "SIDECAR_IMAGE from the chart")
		assert.Contains(t, daprd.Args, "--enable-mtls", "daprsystem has mtls enabled")
		assert.Empty(t, daprd.Command, "no virtual-node toleration: the image ENTRYPOINT runs")
		assert.True(t, *daprd.SecurityContext.RunAsNonRoot, "the chart's hardened defaults reach the sidecar")
		assert.Equal(t, []corev1.Capability{"ALL"}, daprd.SecurityContext.Capabilities.Drop)
		assert.Equal(t, sentryID, tokenAudience(orders), "the token volume has Sentry's ID as audience")
	})
	require.NotNil(t, daprd)

	// 4. daprd's token (as the kubelet would mount it) gets the app's SVID.
	dp := c.process(t, orders, daprd)
	tokenFile := dp.root + "/var/run/secrets/dapr.io/sentrytoken/token"
	t.Run("a pod-bound token gets spiffe://public/ns/shop/orders from the running Sentry, with the chart's TTL", func(t *testing.T) {
		svid := c.svid(t, sentry.GRPCAddr, anchors, tokenFile)
		assert.Equal(t, "spiffe://public/ns/"+appNS+"/orders", svid.ID.String())
		leaf := svid.Certificates[0]
		assert.InDelta(t, (2 * time.Hour).Seconds(), time.Until(leaf.NotAfter).Seconds(), 60, "workloadCertTTL 2h from the values")
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(anchors)
		inter := x509.NewCertPool()
		for _, ic := range svid.Certificates[1:] {
			inter.AddCert(ic)
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		assert.NoError(t, err, "it chains to the brought root")
	})
	t.Run("a token bound to another pod cannot get that ID", func(t *testing.T) {
		other := c.appPod(t, "billing-1", map[string]string{"dapr.io/app-id": "billing"})
		_, err := sign(t, sentry, anchors, c.token(t, other, ptr64(600), sentryID), "orders")
		require.Error(t, err)
		assert.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
		leaf, err := sign(t, sentry, anchors, c.token(t, other, ptr64(600), sentryID), "billing")
		require.NoError(t, err, "its own ID is fine")
		assert.Equal(t, "spiffe://public/ns/"+appNS+"/billing", leaf.URIs[0].String())
	})

	// 5. kubectl edit of daprsystem changes the next certificate.
	t.Run("editing daprsystem's workloadCertTTL to 25s changes the next SVID", func(t *testing.T) {
		kubectl(t, env.Kubeconfig, "-n", cpNS, "patch", "configurations.dapr.io", "daprsystem", "--type", "merge",
			"-p", `{"spec":{"mtls":{"workloadCertTTL":"25s"}}}`)
		token := readFile(t, tokenFile)
		require.Eventually(t, func() bool {
			leaf, err := sign(t, sentry, anchors, string(token), "orders")
			return err == nil && time.Until(leaf.NotAfter) <= 25*time.Second
		}, 20*time.Second, 100*time.Millisecond)
		svid := c.svid(t, sentry.GRPCAddr, anchors, tokenFile)
		assert.InDelta(t, 25, time.Until(svid.Certificates[0].NotAfter).Seconds(), 5)
	})

	// helm upgrade: no certificates given, workload mTLS off.
	unroute()
	t.Run("helm upgrade keeps the CA and the caBundle, and workload mTLS off reaches new sidecars", func(t *testing.T) {
		bundle := c.caBundle(t)
		helm(t, env.Kubeconfig, "upgrade", release, chartDir(), "-n", cpNS, "--set", "global.mtls.enabled=false")
		s, err := c.client.CoreV1().Secrets(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, secret.Data, s.Data, "the upgrade did not touch the CA")
		cm, err := c.client.CoreV1().ConfigMaps(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, string(anchors), cm.Data["ca.crt"])
		assert.Equal(t, bundle, c.caBundle(t), "helm left the caBundle to the injector")

		unroute = c.routeWebhook(t, ip, port)
		defer unroute()
		require.Eventually(t, func() bool {
			// The API server's webhook informer may still hold the old route for a moment.
			p, err := c.tryAppPod(t, "", map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "orders"})
			if err != nil {
				t.Logf("create pod: %v", err)
				return false
			}
			d := containerNamed(p, "daprd")
			return d != nil && !slices.Contains(d.Args, "--enable-mtls")
		}, 20*time.Second, 200*time.Millisecond, "sidecars are injected without mTLS")
		_, err = sign(t, sentry, anchors, string(readFile(t, tokenFile)), "orders")
		assert.NoError(t, err, "the control plane still speaks mTLS")
	})

	// 6. helm uninstall.
	t.Run("helm uninstall leaves only the CRD, the namespaces and the kept CA", func(t *testing.T) {
		helm(t, env.Kubeconfig, "uninstall", release, "-n", cpNS)
		after := c.clusterScoped(t)
		var added []string
		for k := range after {
			if !before[k] {
				added = append(added, k)
			}
		}
		slices.Sort(added)
		assert.Equal(t, []string{
			"apiextensions.k8s.io/customresourcedefinitions/configurations.dapr.io",
			// The API server's own registration of the CRD's group, gone with the CRD.
			"apiregistration.k8s.io/apiservices/v1alpha1.dapr.io",
			"namespaces/" + appNS,
			"namespaces/" + cpNS,
		}, added)
		left, err := c.client.CoreV1().Secrets(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
		require.NoError(t, err, "helm.sh/resource-policy keep")
		assert.Equal(t, secret.Data, left.Data)
		for _, gone := range []func() error{
			func() error {
				_, err := c.client.CoreV1().ConfigMaps(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := c.client.AppsV1().Deployments(cpNS).Get(cctx(t), "dapr-sentry", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := c.client.CoreV1().ServiceAccounts(cpNS).Get(cctx(t), "dapr-injector", metav1.GetOptions{})
				return err
			},
		} {
			assert.True(t, apierrors.IsNotFound(gone()))
		}
	})
	t.Run("a re-install adopts the kept CA", func(t *testing.T) {
		helm(t, env.Kubeconfig, "install", release, chartDir(), "-n", cpNS)
		s, err := c.client.CoreV1().Secrets(cpNS).Get(cctx(t), "dapr-trust-bundle", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, secret.Data, s.Data)
		assert.Equal(t, release, s.Annotations["meta.helm.sh/release-name"])
	})
	t.Logf("whole test %s", time.Since(start).Round(time.Millisecond))
}

func ptr64(v int64) *int64 { return &v }

func (c *cluster) namespace(t *testing.T, name string) {
	t.Helper()
	_, err := c.client.CoreV1().Namespaces().Create(cctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// appPod creates a pod as a controller would (envtest has no
// ServiceAccount admission, so serviceAccountName is set here); an empty
// name means a generated one.
func (c *cluster) appPod(t *testing.T, name string, annotations map[string]string) *corev1.Pod {
	t.Helper()
	created, err := c.tryAppPod(t, name, annotations)
	require.NoError(t, err)
	return created
}

func (c *cluster) tryAppPod(t *testing.T, name string, annotations map[string]string) (*corev1.Pod, error) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec:       corev1.PodSpec{ServiceAccountName: "orders", Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	if name == "" {
		pod.GenerateName = "orders-"
	}
	return c.client.CoreV1().Pods(appNS).Create(cctx(t), pod, metav1.CreateOptions{})
}

func (c *cluster) caBundle(t *testing.T) []byte {
	t.Helper()
	mwc, err := c.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(cctx(t), "dapr-sidecar-injector", metav1.GetOptions{})
	require.NoError(t, err)
	return mwc.Webhooks[0].ClientConfig.CABundle
}

// svid runs a pkg/security client for orders in shop until its first SVID.
func (c *cluster) svid(t *testing.T, addr string, anchors []byte, tokenFile string) *x509SVID {
	t.Helper()
	cl, err := security.New(security.Options{
		SentryAddress: addr, SentryID: spiffeid.RequireFromString(sentryID), TrustAnchors: anchors,
		AppID: "orders", Namespace: appNS, TokenFile: tokenFile, TokenValidator: sentryv1.SignCertificateRequest_KUBERNETES,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cl.Start(ctx) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	require.NoError(t, cl.WaitReady(wctx))
	s, err := cl.GetX509SVID()
	require.NoError(t, err)
	return &x509SVID{ID: s.ID, Certificates: s.Certificates}
}

type x509SVID struct {
	ID           spiffeid.ID
	Certificates []*x509.Certificate
}

// sign asks Sentry for id in shop with token, over a raw gRPC call.
func sign(t *testing.T, p *sentryproc.Proc, anchors []byte, token, id string) (*x509.Certificate, error) {
	t.Helper()
	resp, err := p.Client(t, anchors).SignCertificate(sentryproc.Context(t), &sentryv1.SignCertificateRequest{
		Id: id, Namespace: appNS, Token: token, CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
		TokenValidator: sentryv1.SignCertificateRequest_KUBERNETES,
	})
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(resp.GetWorkloadCertificate())
	require.NotNil(t, b)
	leaf, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	return leaf, nil
}

func containerNamed(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

func envNamed(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func tokenAudience(pod *corev1.Pod) string {
	for _, v := range pod.Spec.Volumes {
		if v.Name == "dapr-identity-token" && v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					return s.ServiceAccountToken.Audience
				}
			}
		}
	}
	return ""
}

// clusterScoped lists every cluster-scoped object the API serves, as
// group/resource/name.
func (c *cluster) clusterScoped(t *testing.T) map[string]bool {
	t.Helper()
	lists, err := discovery.NewDiscoveryClientForConfigOrDie(c.env.Config).ServerPreferredResources()
	require.NoError(t, err)
	dyn := dynamic.NewForConfigOrDie(c.env.Config)
	out := map[string]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		require.NoError(t, err)
		for _, r := range l.APIResources {
			if r.Namespaced || !slices.Contains(r.Verbs, "list") || strings.Contains(r.Name, "/") || r.Name == "componentstatuses" {
				continue
			}
			items, err := dyn.Resource(gv.WithResource(r.Name)).List(cctx(t), metav1.ListOptions{})
			require.NoError(t, err, r.Name)
			for _, it := range items.Items {
				k := r.Name + "/" + it.GetName()
				if gv.Group != "" {
					k = gv.Group + "/" + k
				}
				out[k] = true
			}
		}
	}
	return out
}
