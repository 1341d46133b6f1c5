package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// secretTimeout bounds one Secret read; the API server's webhook timeout
// (10 s) bounds the whole admission.
const secretTimeout = 3 * time.Second

// TokenSecretsClusterRole is the ClusterRole of config/rbac/injector.yaml
// that grants get on secrets. It is bound to the injector with a RoleBinding
// in each app namespace whose token Secrets the injector should check,
// never cluster-wide: a ClusterRoleBinding would let the injector read the
// CA key (the dapr-trust-bundle Secret) in the control-plane namespace.
const TokenSecretsClusterRole = "dapr-injector-token-secrets"

// ErrSecretsForbidden is returned by SecretGetter when RBAC does not let the
// injector read Secrets in the namespace: the token Secret check is off
// there, and the webhook admits the pod with a warning.
var ErrSecretsForbidden = errors.New("the injector may not read secrets in this namespace")

// SecretGetter reads Secrets with one GET per call. The injector reads a
// Secret only for a pod that names one in dapr.io/api-token-secret or
// dapr.io/app-token-secret, to deny it at admission when the Secret or its
// key is missing. A GET per such pod costs one API call, and needs only
// "get secrets" in the pod's namespace (never list or watch); a
// cluster-wide Secret informer would keep every Secret of the cluster in
// the injector's memory and need list and watch on all of them, for a
// check that runs once per pod creation.
type SecretGetter struct {
	// Client reads the Secrets.
	Client kubernetes.Interface
}

// GetSecret returns the Secret namespace/name; a missing Secret is an error
// for which apierrors.IsNotFound is true, and one RBAC keeps the injector
// from reading wraps ErrSecretsForbidden and names the ClusterRole to bind.
func (g SecretGetter) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	ctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	s, err := g.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("get secret %s/%s: %w (namespace %s does not bind the ClusterRole %s to the injector)",
			namespace, name, ErrSecretsForbidden, namespace, TokenSecretsClusterRole)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", namespace, name, err)
	}
	return s, nil
}
