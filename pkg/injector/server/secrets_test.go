package server

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestSecretGetter(t *testing.T) {
	g := SecretGetter{Client: fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"}, Data: map[string][]byte{"token": []byte("x")},
	})}
	t.Run("an existing Secret is returned", func(t *testing.T) {
		s, err := g.GetSecret(t.Context(), "shop", "api")
		require.NoError(t, err)
		assert.Equal(t, []byte("x"), s.Data["token"])
	})
	t.Run("a missing Secret is NotFound through the wrapping", func(t *testing.T) {
		_, err := g.GetSecret(t.Context(), "other", "api")
		assert.True(t, apierrors.IsNotFound(err), "%v", err)
		assert.ErrorContains(t, err, "get secret other/api")
	})
}

func TestSecretGetterWithoutRBAC(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "api", errors.New("RBAC: not allowed"))
	})
	_, err := SecretGetter{Client: client}.GetSecret(t.Context(), "shop", "api")
	require.ErrorIs(t, err, ErrSecretsForbidden)
	assert.False(t, apierrors.IsNotFound(err), "not a missing Secret: the webhook admits the pod with a warning")
	assert.Contains(t, err.Error(), "namespace shop does not bind the ClusterRole dapr-injector-token-secrets to the injector")
}
