package kubernetes_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
)

func storeScenarios() map[string]func(*testing.T, *fixture) {
	return map[string]func(*testing.T, *fixture){
		"with other Secret keys the roots are still published under the ConfigMap's ca.crt": func(t *testing.T, f *fixture) {
			b := generate(t)
			f.createSecret(t, map[string][]byte{"root.pem": b.RootsPEM, "tls.crt": b.IssuerChainPEM, "tls.key": b.IssuerKeyPEM})
			loaded, err := f.newStore(t, func(o *kubernetes.Options) { o.RootKey, o.IssuerKey, o.KeyKey = "root.pem", "tls.crt", "tls.key" }).Load()
			require.NoError(t, err)
			assert.True(t, b.Equal(loaded))
			cm := f.configMap(t)
			assert.Equal(t, map[string]string{kubernetes.ConfigMapKey: string(b.RootsPEM)}, cm.Data,
				"the injector, daprd and trustctl read ca.crt")
		},
		"an absent Secret is not found, and a saved bundle loads back with its roots published": func(t *testing.T, f *fixture) {
			s := f.newStore(t)
			_, err := s.Load()
			require.ErrorIs(t, err, kubernetes.ErrNotFound)
			require.ErrorIs(t, err, bundle.ErrNotFound)

			b := generate(t)
			require.NoError(t, s.Save(b))
			sec := f.secret(t)
			assert.Equal(t, b.RootsPEM, sec.Data["ca.crt"])
			assert.Equal(t, b.IssuerChainPEM, sec.Data["issuer.crt"])
			assert.Equal(t, b.IssuerKeyPEM, sec.Data["issuer.key"])
			cm := f.configMap(t)
			assert.Equal(t, string(b.RootsPEM), cm.Data["ca.crt"])
			assert.NotEmpty(t, cm.Annotations[kubernetes.AnnotationRootsSHA256])

			loaded, err := f.newStore(t).Load()
			require.NoError(t, err)
			assert.True(t, b.Equal(loaded))
			f.requireUnchanged(t, sec)

			err = s.Save(generate(t))
			require.ErrorIs(t, err, kubernetes.ErrExists)
			assert.ErrorContains(t, err, "refusing to overwrite")
			f.requireUnchanged(t, sec)
		},
		"a Helm-style empty Secret is filled, keeping its other keys and labels": func(t *testing.T, f *fixture) {
			created, err := f.admin.CoreV1().Secrets(f.ns).Create(t.Context(), &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "dapr-trust-bundle", Namespace: f.ns, Labels: map[string]string{"app": "dapr-sentry"}},
				Data:       map[string][]byte{"ca.crt": nil, "issuer.crt": []byte("\n"), "jwt.key": []byte("keep me")},
			}, metav1.CreateOptions{})
			require.NoError(t, err)
			f.createConfigMap(t, nil)
			s := f.newStore(t)
			_, err = s.Load()
			require.ErrorIs(t, err, kubernetes.ErrNotFound)

			b := generate(t)
			require.NoError(t, s.Save(b))
			sec := f.secret(t)
			assert.NotEqual(t, created.ResourceVersion, sec.ResourceVersion)
			assert.Equal(t, b.RootsPEM, sec.Data["ca.crt"])
			assert.Equal(t, b.IssuerKeyPEM, sec.Data["issuer.key"])
			assert.Equal(t, []byte("keep me"), sec.Data["jwt.key"])
			assert.Equal(t, "dapr-sentry", sec.Labels["app"])
			assert.Equal(t, string(b.RootsPEM), f.configMap(t).Data["ca.crt"])
		},
		"three replicas starting at once on an absent Secret agree on one bundle": func(t *testing.T, f *fixture) {
			race(t, f)
		},
		"three replicas starting at once on an empty Secret agree on one bundle": func(t *testing.T, f *fixture) {
			f.createSecret(t, nil)
			f.createConfigMap(t, map[string]string{"ca.crt": ""})
			race(t, f)
		},
		"a bring-your-own Secret loads as it is": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			issuer := newCA(t, root)
			sec := f.createSecret(t, bundleData(t, root.CertPEM(), issuer))
			b, err := f.newStore(t).Load()
			require.NoError(t, err)
			assert.Equal(t, issuer.Cert.Raw, b.Issuer().Raw)
			assert.Equal(t, root.Cert.Raw, b.Roots[0].Raw)
			f.requireUnchanged(t, sec)
			assert.Equal(t, string(root.CertPEM()), f.configMap(t).Data["ca.crt"], "the roots are published")
		},
		"a Secret missing a key is refused, left byte for byte, and reported": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			data := bundleData(t, root.CertPEM(), newCA(t, root))
			delete(data, "issuer.key")
			data["issuer.crt"] = []byte("  \n")
			sec := f.createSecret(t, data)
			s := f.newStore(t)

			_, err := s.Load()
			var pe *kubernetes.PartialError
			require.ErrorAs(t, err, &pe)
			require.ErrorIs(t, err, kubernetes.ErrIncomplete)
			require.NotErrorIs(t, err, kubernetes.ErrNotFound)
			assert.Equal(t, []string{"issuer.key"}, pe.Missing)
			assert.Equal(t, []string{"issuer.crt"}, pe.Empty)
			assert.Equal(t, []string{"ca.crt"}, pe.Present)
			assert.Equal(t, f.ns, pe.Namespace)
			want := "restore issuer.key and issuer.crt in Secret dapr-trust-bundle in namespace " + f.ns +
				", or delete all three keys (ca.crt, issuer.crt, issuer.key) to let Sentry generate a new CA"
			assert.Contains(t, err.Error(), want)

			require.ErrorIs(t, s.Save(generate(t)), kubernetes.ErrExists)
			f.requireUnchanged(t, sec)
			assert.Contains(t, f.event(t, corev1.EventTypeWarning, kubernetes.ReasonIncomplete), want)
			_, err = f.admin.CoreV1().ConfigMaps(f.ns).Get(t.Context(), "dapr-trust-bundle", metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "no ConfigMap is written for a refused bundle: %v", err)
		},
		"a Secret whose key is not the issuer's is refused, naming the key": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			data := bundleData(t, root.CertPEM(), newCA(t, root))
			data["issuer.key"] = newCA(t, root).KeyPEM(t)
			sec := f.createSecret(t, data)

			_, err := f.newStore(t).Load()
			var ie *kubernetes.InvalidError
			require.ErrorAs(t, err, &ie)
			require.ErrorIs(t, err, kubernetes.ErrInvalid)
			require.ErrorIs(t, err, bundle.ErrKeyMismatch)
			assert.Equal(t, "issuer.key", ie.Key)
			assert.Contains(t, err.Error(), "Secret dapr-trust-bundle in namespace "+f.ns+", key issuer.key")
			f.requireUnchanged(t, sec)
			msg := f.event(t, corev1.EventTypeWarning, kubernetes.ReasonInvalid)
			assert.Contains(t, msg, "fix issuer.key in Secret dapr-trust-bundle")
		},
		"a ConfigMap that disagrees is reported and left alone, and the Secret is untouched": func(t *testing.T, f *fixture) {
			root, other := newCA(t, nil), newCA(t, nil)
			sec := f.createSecret(t, bundleData(t, root.CertPEM(), newCA(t, root)))
			cm := f.createConfigMap(t, map[string]string{"ca.crt": string(joinPEM(root.CertPEM(), other.CertPEM()))})

			b, err := f.newStore(t).Load()
			require.NoError(t, err, "the Secret is the source of truth; a ConfigMap mismatch never refuses it")
			assert.Equal(t, root.Cert.Raw, b.Roots[0].Raw)
			f.requireUnchanged(t, sec)
			after := f.configMap(t)
			assert.Equal(t, cm.ResourceVersion, after.ResourceVersion)
			assert.Equal(t, cm.Data, after.Data)

			msg := f.event(t, corev1.EventTypeWarning, kubernetes.ReasonConfigMapMismatch)
			assert.Contains(t, msg, "roots only in the ConfigMap: \""+other.Cert.Subject.String())
			assert.NotContains(t, msg, "roots only in the Secret")
			assert.Contains(t, msg, "Sentry did not rewrite the ConfigMap")
		},
		"a ConfigMap holding the Secret's roots is adopted without a change": func(t *testing.T, f *fixture) {
			root := newCA(t, nil)
			f.createSecret(t, bundleData(t, root.CertPEM(), newCA(t, root)))
			f.createConfigMap(t, map[string]string{"ca.crt": string(root.CertPEM())})
			_, err := f.newStore(t).Load()
			require.NoError(t, err)
			cm := f.configMap(t)
			assert.Equal(t, string(root.CertPEM()), cm.Data["ca.crt"])
			assert.NotEmpty(t, cm.Annotations[kubernetes.AnnotationRootsSHA256])
			f.noEvent(t, kubernetes.ReasonConfigMapMismatch)
		},
	}
}

// rbacScenarios run only as the user holding the documented Role.
func rbacScenarios() map[string]func(*testing.T, *fixture) {
	return map[string]func(*testing.T, *fixture){
		"watching an object the Role does not name is logged as an error": func(t *testing.T, f *fixture) {
			msg := watchForbidden(t, f)
			assert.Contains(t, msg, "check Sentry's Role")
			assert.Contains(t, msg, "forbidden")
		},
		"the documented Role grants nothing beyond the store's objects": func(t *testing.T, f *fixture) {
			_, err := f.admin.CoreV1().Secrets(f.ns).Create(t.Context(), &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "someone-else", Namespace: f.ns},
			}, metav1.CreateOptions{})
			require.NoError(t, err)
			_, err = f.client.CoreV1().Secrets(f.ns).Get(t.Context(), "someone-else", metav1.GetOptions{})
			assert.True(t, apierrors.IsForbidden(err), "get another Secret: %v", err)
			_, err = f.client.CoreV1().Secrets(f.ns).List(t.Context(), metav1.ListOptions{})
			assert.True(t, apierrors.IsForbidden(err), "list all Secrets: %v", err)
			err = f.client.CoreV1().Secrets(f.ns).Delete(t.Context(), "dapr-trust-bundle", metav1.DeleteOptions{})
			assert.True(t, apierrors.IsForbidden(err), "delete the Secret: %v", err)
		},
	}
}

// watchForbidden watches a Secret the Role does not name and returns the
// first error log.
func watchForbidden(t *testing.T, f *fixture) string {
	t.Helper()
	core, logs := observer.New(zap.ErrorLevel)
	s := f.newStore(t, func(o *kubernetes.Options) { o.SecretName = "not-in-the-role"; o.Logger = zap.New(core) })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, func(*bundle.Bundle) {}, func(error) {}) }()
	defer func() {
		cancel()
		assert.NoError(t, <-done)
	}()
	var msg string
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		entries := logs.All()
		require.NotEmpty(c, entries)
		msg = entries[0].Message + " " + fmt.Sprint(entries[0].ContextMap()["error"])
	}, eventually, 50*time.Millisecond)
	return msg
}

// race starts three replicas at once, each loading, or generating and
// saving, then loading the winner's bundle on ErrExists.
func race(t *testing.T, f *fixture) {
	t.Helper()
	const replicas = 3
	var (
		stores    [replicas]*kubernetes.Store
		generated [replicas]*bundle.Bundle
		got       [replicas]*bundle.Bundle
		saveErrs  [replicas]error
		errs      [replicas]error
		saves     [replicas]bool
	)
	for i := range replicas {
		stores[i] = f.newStore(t)
		generated[i] = generate(t)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			b, err := stores[i].Load()
			if errors.Is(err, kubernetes.ErrNotFound) {
				saves[i] = true
				saveErrs[i] = stores[i].Save(generated[i])
				b, err = generated[i], saveErrs[i]
				if errors.Is(err, kubernetes.ErrExists) {
					b, err = stores[i].Load()
				}
			}
			got[i], errs[i] = b, err
		}()
	}
	close(start)
	wg.Wait()

	winners := 0
	for i := range replicas {
		require.NoError(t, errs[i], "replica %d", i)
		if saves[i] && saveErrs[i] == nil {
			winners++
		}
	}
	require.Equal(t, 1, winners, "exactly one replica stores its bundle (save errors %v)", saveErrs)
	for i := 1; i < replicas; i++ {
		assert.True(t, got[0].Equal(got[i]), "replica %d has another bundle than replica 0", i)
	}
	sec := f.secret(t)
	assert.Equal(t, got[0].RootsPEM, sec.Data["ca.crt"])
	assert.Len(t, got[0].Roots, 1)
	assert.Equal(t, string(got[0].RootsPEM), f.configMap(t).Data["ca.crt"])
}
