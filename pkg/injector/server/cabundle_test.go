package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/test/fakewatch"
	"github.com/trustplane/trustplane/test/testca"
)

func mwc(bundles ...string) *admissionregistrationv1.MutatingWebhookConfiguration {
	m := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: DefaultWebhookConfigurationName}}
	names := []string{"sidecar-injector.dapr.io", "second.dapr.io"}
	for i, b := range bundles {
		m.Webhooks = append(m.Webhooks, admissionregistrationv1.MutatingWebhook{
			Name: names[i], ClientConfig: admissionregistrationv1.WebhookClientConfig{CABundle: []byte(b)},
		})
	}
	return m
}

func TestBundleApply(t *testing.T) {
	tests := map[string]struct {
		obj       *admissionregistrationv1.MutatingWebhookConfiguration
		wantStale int
	}{
		"an empty caBundle is stale":                   {obj: mwc(""), wantStale: 1},
		"a matching caBundle is not":                   {obj: mwc("A"), wantStale: 0},
		"only differing webhooks count as stale":       {obj: mwc("A", "old"), wantStale: 1},
		"a configuration without webhooks has nothing": {obj: mwc(), wantStale: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			apply, stale := BundleApply(tc.obj, []byte("A"))
			assert.Equal(t, tc.wantStale, stale)
			require.Len(t, apply.Webhooks, len(tc.obj.Webhooks), "every webhook is named, stale or not")
			for i, w := range apply.Webhooks {
				assert.Equal(t, tc.obj.Webhooks[i].Name, *w.Name)
				assert.Equal(t, []byte("A"), w.ClientConfig.CABundle)
			}
			assert.Equal(t, DefaultWebhookConfigurationName, *apply.Name)
		})
	}
}

// startPatcher runs a patcher over client until the test ends.
func startPatcher(t *testing.T, client *fake.Clientset, anchors *Anchors) *CABundlePatcher {
	t.Helper()
	p, err := NewCABundlePatcher(CABundlePatcherOptions{Client: client, Anchors: anchors, Clock: clocktesting.NewFakeClock(time.Now())})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Start(ctx) }()
	t.Cleanup(func() { cancel(); assert.NoError(t, <-done) })
	return p
}

func caBundles(t *testing.T, client *fake.Clientset) []string {
	t.Helper()
	m, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), DefaultWebhookConfigurationName, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, w := range m.Webhooks {
		out = append(out, string(w.ClientConfig.CABundle))
	}
	return out
}

func TestCABundlePatcher(t *testing.T) {
	first, second := string(testca.NewRoot(t).CertPEM()), string(testca.NewRoot(t).CertPEM())

	t.Run("every webhook gets the anchors, then the patcher is ready", func(t *testing.T) {
		client := fake.NewClientset(mwc("", "stale"))
		anchors := NewAnchors(nil, nil)
		p := startPatcher(t, client, anchors)
		require.Error(t, p.Ready(), "not ready before any patch")
		_, err := anchors.Set([]byte(first))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return p.Ready() == nil }, 10*time.Second, 10*time.Millisecond)
		assert.Equal(t, []string{first, first}, caBundles(t, client))
	})

	t.Run("new anchors are applied", func(t *testing.T) {
		client := fake.NewClientset(mwc(""))
		anchors := NewAnchors(nil, nil)
		_, err := anchors.Set([]byte(first))
		require.NoError(t, err)
		p := startPatcher(t, client, anchors)
		require.Eventually(t, func() bool { return p.Ready() == nil }, 10*time.Second, 10*time.Millisecond)
		_, err = anchors.Set([]byte(second))
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			b := caBundles(t, client)
			return len(b) == 1 && b[0] == second
		}, 10*time.Second, 10*time.Millisecond)
	})

	t.Run("a missing configuration is reported and patched once created", func(t *testing.T) {
		client := fake.NewClientset()
		watches := fakewatch.Track(client)
		anchors := NewAnchors(nil, nil)
		_, err := anchors.Set([]byte(first))
		require.NoError(t, err)
		p := startPatcher(t, client, anchors)
		require.Eventually(t, func() bool { return errors.Is(p.Ready(), ErrWebhookConfigurationNotFound) }, 10*time.Second, 10*time.Millisecond)
		watches.Wait(t, "mutatingwebhookconfigurations")
		_, err = client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(t.Context(), mwc(""), metav1.CreateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return p.Ready() == nil }, 10*time.Second, 10*time.Millisecond)
		assert.Equal(t, []string{first}, caBundles(t, client))
	})

	t.Run("options without a client are refused", func(t *testing.T) {
		_, err := NewCABundlePatcher(CABundlePatcherOptions{Anchors: NewAnchors(nil, nil)})
		assert.ErrorContains(t, err, "required")
	})
}
