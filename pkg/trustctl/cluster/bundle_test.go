package cluster

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	store "github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	"github.com/trustplane/trustplane/test/testca"
)

func TestReadBundle(t *testing.T) {
	ca := testca.NewRoot(t).Issuer(t)
	other := testca.NewRoot(t).Issuer(t)
	secret := func(data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: "ns"}, Data: data}
	}
	cases := map[string]struct {
		objs     []runtime.Object
		noBundle bool
		errText  string
	}{
		"an absent Secret is ErrNoBundle":        {noBundle: true, errText: "does not exist"},
		"an empty Secret is ErrNoBundle":         {objs: []runtime.Object{secret(map[string][]byte{RootKey: []byte(" ")})}, noBundle: true, errText: "is empty"},
		"a partial Secret names the missing key": {objs: []runtime.Object{secret(map[string][]byte{RootKey: ca.Root.CertPEM()})}, errText: "lacks issuer.crt, issuer.key"},
		"a mismatched key is a bundle error": {objs: []runtime.Object{secret(map[string][]byte{
			RootKey: ca.Root.CertPEM(), IssuerKey: ca.CertPEM(), KeyKey: other.KeyPEM(t)})}, errText: "private key does not match"},
		"a valid Secret gives its bundle": {objs: []runtime.Object{secret(map[string][]byte{
			RootKey: ca.Root.CertPEM(), IssuerKey: ca.CertPEM(), KeyKey: ca.KeyPEM(t)})}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := New(Options{Kube: fake.NewClientset(tc.objs...), Dynamic: dynfake.NewSimpleDynamicClient(runtime.NewScheme())})
			require.NoError(t, err)
			tb, err := c.ReadBundle(t.Context(), "ns")
			require.NoError(t, err)
			b, err := tb.Require()
			if tc.errText == "" {
				require.NoError(t, err)
				assert.Equal(t, ca.Root.CertPEM(), b.RootsPEM)
				return
			}
			assert.Nil(t, b)
			assert.ErrorContains(t, err, tc.errText)
			assert.Equal(t, tc.noBundle, errors.Is(err, ErrNoBundle))
		})
	}
}

func TestWriteBundlePublishesBinaryRootsAsSentryDoes(t *testing.T) {
	ca := testca.NewRoot(t).Issuer(t)
	roots := append([]byte("\xff\xfe not UTF-8\n"), ca.Root.CertPEM()...)
	b, err := bundle.Parse(roots, ca.CertPEM(), ca.KeyPEM(t))
	require.NoError(t, err)
	kube := fake.NewClientset()
	c, err := New(Options{Kube: kube, Dynamic: dynfake.NewSimpleDynamicClient(runtime.NewScheme())})
	require.NoError(t, err)
	require.NoError(t, c.WriteBundle(t.Context(), &TrustBundle{Namespace: "ns"}, b))
	cm, err := kube.CoreV1().ConfigMaps("ns").Get(t.Context(), ConfigMapName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, roots, cm.BinaryData[RootKey])
	assert.NotContains(t, cm.Data, RootKey)
	assert.Equal(t, RootsSHA256(roots), cm.Annotations[store.AnnotationRootsSHA256])
}
