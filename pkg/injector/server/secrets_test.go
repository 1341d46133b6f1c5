package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
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
