package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/test/testca"
)

func newClient(t *testing.T, objs ...runtime.Object) (*Client, *fake.Clientset) {
	t.Helper()
	kube := fake.NewClientset(objs...)
	c, err := New(Options{Kube: kube, Dynamic: dynfake.NewSimpleDynamicClient(runtime.NewScheme())})
	require.NoError(t, err)
	return c, kube
}

func sentryDeployment(args ...string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: SentryDeployment, Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "dapr-sentry", Args: args}},
		}}},
	}
}

func TestTheSecretKeysAreSentrys(t *testing.T) {
	ca := testca.NewRoot(t).Issuer(t)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: "ns"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"ca.crt": ca.Root.CertPEM(), "tls.crt": ca.CertPEM(), "tls.key": ca.KeyPEM(t)}}
	tests := map[string]struct {
		objs     []runtime.Object
		wantKeys Keys
	}{
		"without a Sentry Deployment Dapr's names are used": {objs: []runtime.Object{sec}, wantKeys: DefaultKeys},
		"the Deployment's flags name the keys, in both spellings": {
			objs: []runtime.Object{sec, sentryDeployment("--mode", "kubernetes", "--issuer-ca-filename", "ca.crt",
				"--issuer-certificate-filename=tls.crt", "-issuer-key-filename", "tls.key")},
			wantKeys: Keys{Root: "ca.crt", Issuer: "tls.crt", Key: "tls.key"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, tc.objs...)
			tb, err := c.ReadBundle(t.Context(), "ns")
			require.NoError(t, err)
			assert.Equal(t, tc.wantKeys, tb.Keys)
			if tc.wantKeys == DefaultKeys {
				assert.ErrorContains(t, tb.Err, "lacks issuer.crt, issuer.key")
				return
			}
			b, err := tb.Require()
			require.NoError(t, err)
			assert.Equal(t, ca.CertPEM(), b.IssuerChainPEM)
		})
	}
}

func TestWriteBundleUsesSentrysKeys(t *testing.T) {
	old, next := testca.NewRoot(t).Issuer(t), testca.NewRoot(t).Issuer(t)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: "ns"},
		Data: map[string][]byte{"root.pem": old.Root.CertPEM(), "chain.pem": old.CertPEM(), "key.pem": old.KeyPEM(t)}}
	c, kube := newClient(t, sec, sentryDeployment("--issuer-ca-filename=root.pem", "--issuer-certificate-filename=chain.pem", "--issuer-key-filename=key.pem"))
	tb, err := c.ReadBundle(t.Context(), "ns")
	require.NoError(t, err)
	nb, err := bundle.Parse(next.Root.CertPEM(), next.CertPEM(), next.KeyPEM(t))
	require.NoError(t, err)
	require.NoError(t, c.WriteBundle(t.Context(), tb, nb))
	got, err := kube.CoreV1().Secrets("ns").Get(t.Context(), SecretName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string][]byte{"root.pem": nb.RootsPEM, "chain.pem": nb.IssuerChainPEM, "key.pem": nb.IssuerKeyPEM}, got.Data)
}

func TestWriteBundleRefusesASecretAnotherControllerOwns(t *testing.T) {
	ca := testca.NewRoot(t).Issuer(t)
	data := map[string][]byte{RootKey: ca.Root.CertPEM(), IssuerKey: ca.CertPEM(), KeyKey: ca.KeyPEM(t)}
	tests := map[string]struct {
		meta metav1.ObjectMeta
		want string
	}{
		"a Secret cert-manager issues into": {
			meta: metav1.ObjectMeta{Annotations: map[string]string{"cert-manager.io/certificate-name": "dapr-ca"}},
			want: `cert-manager Certificate "dapr-ca" (renew it there, for example: cmctl renew -n ns dapr-ca)`,
		},
		"a Secret an ExternalSecret controls": {
			meta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{APIVersion: "external-secrets.io/v1beta1",
				Kind: "ExternalSecret", Name: "dapr-bundle", UID: "u", Controller: ptr.To(true)}}},
			want: `ExternalSecret "dapr-bundle"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			meta := tc.meta
			meta.Name, meta.Namespace = SecretName, "ns"
			c, kube := newClient(t, &corev1.Secret{ObjectMeta: meta, Data: data})
			tb, err := c.ReadBundle(t.Context(), "ns")
			require.NoError(t, err)
			require.NotNil(t, tb.Bundle)
			err = c.WriteBundle(t.Context(), tb, tb.Bundle)
			require.ErrorIs(t, err, ErrExternallyOwned)
			assert.ErrorContains(t, err, tc.want)
			got, getErr := kube.CoreV1().Secrets("ns").Get(t.Context(), SecretName, metav1.GetOptions{})
			require.NoError(t, getErr)
			assert.Equal(t, data, got.Data, "nothing was written")
		})
	}
}
