package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/test/testca"
)

// patchOnly gives client Dapr's RBAC on MutatingWebhookConfigurations:
// patch and nothing else.
func patchOnly(client *fake.Clientset) {
	gr := schema.GroupResource{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}
	client.PrependReactor("*", "mutatingwebhookconfigurations", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetVerb() == "patch" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(gr, "", errors.New("RBAC: "+a.GetVerb()+" not allowed"))
	})
	client.PrependWatchReactor("mutatingwebhookconfigurations", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, nil, apierrors.NewForbidden(gr, "", errors.New("RBAC: watch not allowed"))
	})
}

var mwcResource = admissionregistrationv1.SchemeGroupVersion.WithResource("mutatingwebhookconfigurations")

// stored reads the object past the reactors, from the tracker.
func stored(t *testing.T, client *fake.Clientset) *admissionregistrationv1.MutatingWebhookConfiguration {
	t.Helper()
	obj, err := client.Tracker().Get(mwcResource, "", DefaultWebhookConfigurationName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return obj.(*admissionregistrationv1.MutatingWebhookConfiguration)
}

func storedBundles(t *testing.T, client *fake.Clientset) []string {
	t.Helper()
	var out []string
	if m := stored(t, client); m != nil {
		for _, w := range m.Webhooks {
			out = append(out, string(w.ClientConfig.CABundle))
		}
	}
	return out
}

func TestCABundlePatcherWithPatchAlone(t *testing.T) {
	first, second := string(testca.NewRoot(t).CertPEM()), string(testca.NewRoot(t).CertPEM())
	client := fake.NewClientset(mwc("", "stale"))
	patchOnly(client)
	clk := clocktesting.NewFakeClock(time.Now())
	anchors := NewAnchors(nil, nil)
	_, err := anchors.Set([]byte(first))
	require.NoError(t, err)
	p, err := NewCABundlePatcher(CABundlePatcherOptions{Client: client, Anchors: anchors, PatchOnly: true, Resync: time.Minute, Clock: clk})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Start(ctx) }()
	t.Cleanup(func() { cancel(); assert.NoError(t, <-done) })

	require.Eventually(t, func() bool { return p.Ready() == nil }, 10*time.Second, 10*time.Millisecond, "ready from the applied object")
	assert.Equal(t, []string{first, first}, storedBundles(t, client))

	t.Run("new anchors are applied at once", func(t *testing.T) {
		_, err := anchors.Set([]byte(second))
		require.NoError(t, err)
		require.Eventually(t, func() bool { b := storedBundles(t, client); return len(b) == 2 && b[0] == second && b[1] == second },
			10*time.Second, 10*time.Millisecond)
	})

	t.Run("a caBundle someone else resets is put back at the next resync", func(t *testing.T) {
		m := stored(t, client).DeepCopy()
		m.Webhooks[1].ClientConfig.CABundle = nil
		require.NoError(t, client.Tracker().Update(mwcResource, m, ""))
		require.Eventually(t, clk.HasWaiters, 5*time.Second, time.Millisecond)
		clk.Step(time.Minute)
		require.Eventually(t, func() bool { b := storedBundles(t, client); return len(b) == 2 && b[1] == second },
			10*time.Second, 10*time.Millisecond)
	})

	for _, a := range client.Actions() {
		assert.Equal(t, "patch", a.GetVerb(), "the patcher only patches: %v", a)
	}
}

func TestCABundlePatcherWithPatchAloneReportsAMissingObject(t *testing.T) {
	client := fake.NewClientset()
	patchOnly(client)
	anchors := NewAnchors(nil, nil)
	_, err := anchors.Set(testca.NewRoot(t).CertPEM())
	require.NoError(t, err)
	p, err := NewCABundlePatcher(CABundlePatcherOptions{Client: client, Anchors: anchors, PatchOnly: true, Clock: clocktesting.NewFakeClock(time.Now())})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Start(ctx) }()
	t.Cleanup(func() { cancel(); assert.NoError(t, <-done) })
	require.Eventually(t, func() bool { return errors.Is(p.Ready(), ErrWebhookConfigurationNotFound) }, 10*time.Second, 10*time.Millisecond)
	assert.Nil(t, stored(t, client), "nothing was created")
}
