package kubernetes_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	"github.com/trustplane/trustplane/test/testca"
)

// quiet is how long a watch must stay silent to count as silent.
const quiet = time.Second

// watchRun is a running Watch with its callbacks turned into channels.
type watchRun struct {
	changes chan *bundle.Bundle
	errs    chan error
}

// startWatch runs s.Watch until the test ends and waits until it watches.
func startWatch(t *testing.T, s *kubernetes.Store) *watchRun {
	t.Helper()
	w := &watchRun{changes: make(chan *bundle.Bundle, 16), errs: make(chan error, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	watching := make(chan struct{})
	kubernetes.SetWatching(s, func() { close(watching) })
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, func(b *bundle.Bundle) { w.changes <- b }, func(err error) { w.errs <- err })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(eventually):
			t.Error("Watch did not return after its context was cancelled")
		}
	})
	select {
	case <-watching:
	case err := <-done:
		t.Fatalf("Watch returned early: %v", err)
	case <-time.After(eventually):
		t.Fatal("Watch did not sync")
	}
	return w
}

func (w *watchRun) nextChange(t *testing.T) *bundle.Bundle {
	t.Helper()
	select {
	case b := <-w.changes:
		return b
	case err := <-w.errs:
		t.Fatalf("onError instead of onChange: %v", err)
	case <-time.After(eventually):
		t.Fatal("no onChange")
	}
	return nil
}

func (w *watchRun) nextError(t *testing.T) error {
	t.Helper()
	select {
	case b := <-w.changes:
		t.Fatalf("onChange with issuer %s instead of onError", b.Issuer().Subject)
	case err := <-w.errs:
		return err
	case <-time.After(eventually):
		t.Fatal("no onError")
	}
	return nil
}

func (w *watchRun) nothingMore(t *testing.T) {
	t.Helper()
	select {
	case b := <-w.changes:
		t.Fatalf("unexpected onChange with issuer %s", b.Issuer().Subject)
	case err := <-w.errs:
		t.Fatalf("unexpected onError: %v", err)
	case <-time.After(quiet):
	}
}

// watched creates a bring-your-own Secret of root and a first issuer,
// loads it and starts watching.
func watched(t *testing.T, f *fixture, root *testca.CA) (*kubernetes.Store, *watchRun) {
	t.Helper()
	f.createSecret(t, bundleData(t, root.CertPEM(), newCA(t, root)))
	s := f.newStore(t)
	_, err := s.Load()
	require.NoError(t, err)
	return s, startWatch(t, s)
}

// configMapEventually waits until the ConfigMap's ca.crt is want.
func (f *fixture) configMapEventually(t *testing.T, want []byte) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		cm, err := f.admin.CoreV1().ConfigMaps(f.ns).Get(t.Context(), kubernetes.DefaultConfigMapName, metav1.GetOptions{})
		require.NoError(c, err)
		assert.Equal(c, string(want), cm.Data["ca.crt"])
	}, eventually, 100*time.Millisecond)
}

func watchScenarios() map[string]func(*testing.T, *fixture) {
	return map[string]func(*testing.T, *fixture){
		"watch: a new issuer under the same root reaches onChange": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			_, w := watched(t, f, root)
			w.nothingMore(t)

			next := newCA(t, root)
			f.updateSecret(t, bundleData(t, root.CertPEM(), next))
			b := w.nextChange(t)
			assert.Equal(t, next.Cert.Raw, b.Issuer().Raw)
			assert.Equal(t, root.Cert.Raw, b.Roots[0].Raw)

			f.updateSecret(t, bundleData(t, root.CertPEM(), next)) // same content: a no-op event
			sec := f.secret(t)
			sec.Labels = map[string]string{"touched": "yes"}
			_, err := f.admin.CoreV1().Secrets(f.ns).Update(t.Context(), sec, metav1.UpdateOptions{})
			require.NoError(t, err)
			w.nothingMore(t)
		},
		"watch: an added root reaches onChange and the ConfigMap Sentry published follows": func(t *testing.T, f *fixture) {
			root, newRoot := newCA(t, nil), newCA(t, nil)
			_, w := watched(t, f, root)
			f.configMapEventually(t, root.CertPEM())

			roots := joinPEM(root.CertPEM(), newRoot.CertPEM())
			f.updateSecret(t, bundleData(t, roots, newCA(t, newRoot)))
			b := w.nextChange(t)
			assert.Len(t, b.Roots, 2)
			f.configMapEventually(t, roots)
			msg := f.event(t, corev1.EventTypeNormal, kubernetes.ReasonConfigMapUpdated)
			assert.Contains(t, msg, "roots only in the Secret: \""+newRoot.Cert.Subject.String())
			assert.Contains(t, msg, "Sentry rewrote it")
		},
		"watch: an invalid edit goes to onError and nothing is written": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			_, w := watched(t, f, root)
			f.configMapEventually(t, root.CertPEM())
			cm := f.configMap(t)

			data := bundleData(t, root.CertPEM(), newCA(t, root))
			data["issuer.key"] = newCA(t, root).KeyPEM(t)
			edited := f.updateSecret(t, data)
			err := w.nextError(t)
			require.ErrorIs(t, err, kubernetes.ErrInvalid)
			require.ErrorIs(t, err, bundle.ErrKeyMismatch)
			f.event(t, corev1.EventTypeWarning, kubernetes.ReasonInvalid)
			w.nothingMore(t)
			f.requireUnchanged(t, edited)
			assert.Equal(t, cm.ResourceVersion, f.configMap(t).ResourceVersion)

			delete(data, "issuer.key")
			edited = f.updateSecret(t, data)
			require.ErrorIs(t, w.nextError(t), kubernetes.ErrIncomplete)
			w.nothingMore(t)
			f.requireUnchanged(t, edited)
		},
		"watch: a deleted Secret goes to onError": func(t *testing.T, f *fixture) {
			_, w := watched(t, f, newCA(t, nil))
			require.NoError(t, f.admin.CoreV1().Secrets(f.ns).Delete(t.Context(), kubernetes.DefaultSecretName, metav1.DeleteOptions{}))
			err := w.nextError(t)
			require.ErrorIs(t, err, kubernetes.ErrNotFound)
			assert.ErrorContains(t, err, "was deleted")
		},
		"watch: a deleted ConfigMap is published again": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			_, w := watched(t, f, root)
			f.configMapEventually(t, root.CertPEM())
			require.NoError(t, f.admin.CoreV1().ConfigMaps(f.ns).Delete(t.Context(), kubernetes.DefaultConfigMapName, metav1.DeleteOptions{}))
			f.configMapEventually(t, root.CertPEM())
			w.nothingMore(t)
		},
		"watch: a user's edit of the ConfigMap is reported, not reverted": func(t *testing.T, f *fixture) {
			root, staged := newCA(t, nil), newCA(t, nil)
			_, w := watched(t, f, root)
			f.configMapEventually(t, root.CertPEM())
			cm := f.configMap(t)
			cm.Data["ca.crt"] = string(joinPEM(root.CertPEM(), staged.CertPEM()))
			cm, err := f.admin.CoreV1().ConfigMaps(f.ns).Update(t.Context(), cm, metav1.UpdateOptions{})
			require.NoError(t, err)

			msg := f.event(t, corev1.EventTypeWarning, kubernetes.ReasonConfigMapMismatch)
			assert.Contains(t, msg, "roots only in the ConfigMap: \""+staged.Cert.Subject.String())
			w.nothingMore(t)
			after := f.configMap(t)
			assert.Equal(t, cm.ResourceVersion, after.ResourceVersion)
			assert.Equal(t, cm.Data, after.Data)
		},
	}
}
