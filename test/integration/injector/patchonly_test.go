package injector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trustplane/trustplane/pkg/injector/server"
	"github.com/trustplane/trustplane/test/cluster"
	"github.com/trustplane/trustplane/test/injectorproc"
	"github.com/trustplane/trustplane/test/testca"
)

// The caBundle kept with Dapr's RBAC (patch on the one object, nothing
// else) against the real API server: read back by a no-op merge patch,
// which the API server answers without writing (the resourceVersion stays),
// and put back at the next resync after someone else changed it.
func TestCABundleByPatchAloneAgainstTheAPIServer(t *testing.T) {
	c := &icluster{cluster.New(t)}
	c.UseDaprInjectorRBAC(t)
	c.registerWebhook(t, injectorproc.FreePort(t))
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig(t, "dapr-injector"))
	require.NoError(t, err)
	anchors := server.NewAnchors(nil, nil)
	root := string(testca.NewRoot(t).CertPEM())
	_, err = anchors.Set([]byte(root))
	require.NoError(t, err)
	p, err := server.NewCABundlePatcher(server.CABundlePatcherOptions{
		Client: kubernetes.NewForConfigOrDie(cfg), Anchors: anchors, PatchOnly: true, Resync: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Start(ctx) }()
	t.Cleanup(func() { cancel(); assert.NoError(t, <-done) })

	require.Eventually(t, func() bool { return p.Ready() == nil }, 20*time.Second, 20*time.Millisecond)
	assert.Equal(t, root, string(c.caBundle(t)))
	mwcs := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	before, err := mwcs.Get(cctx(t), webhookName, metav1.GetOptions{})
	require.NoError(t, err)
	time.Sleep(time.Second) // five resyncs
	after, err := mwcs.Get(cctx(t), webhookName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "a no-op patch writes nothing")

	after.Webhooks[0].ClientConfig.CABundle = []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
	_, err = mwcs.Update(cctx(t), after, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return string(c.caBundle(t)) == root }, 20*time.Second, 50*time.Millisecond, "put back at the next resync")
}
