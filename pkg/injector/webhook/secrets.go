package webhook

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/trustplane/trustplane/pkg/injector/sidecar"
)

// SecretReader reads one Secret. GetSecret returns an error for which
// k8s.io/apimachinery/pkg/api/errors.IsNotFound is true when the Secret does
// not exist. It is called during admission, once per pod that names a
// token Secret, so it must not block for long; the injector uses one GET
// (RBAC: get secrets) rather than caching every Secret of the cluster.
type SecretReader interface {
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// ComponentLister lists the Dapr Component resources of a namespace. It is
// called during admission, only for pods with
// dapr.io/inject-pluggable-components, so it must not block for long.
type ComponentLister interface {
	ListComponents(ctx context.Context, namespace string) ([]sidecar.DeclaredComponent, error)
}

// tokenSecretError is a token Secret problem the pod author must fix.
type tokenSecretError struct{ msg string }

func (e *tokenSecretError) Error() string { return e.msg }

// checkTokenSecret checks that Secret name in namespace exists and holds the
// key "token". Problems of the pod are a *tokenSecretError; other errors
// mean the Secret could not be read.
func checkTokenSecret(ctx context.Context, r SecretReader, annotation, namespace, name string) error {
	s, err := r.GetSecret(ctx, namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		return &tokenSecretError{fmt.Sprintf("%s: Secret %q not found in namespace %q; create it with key %q",
			annotation, name, namespace, sidecar.TokenSecretKey)}
	case err != nil:
		return fmt.Errorf("read Secret %s/%s named by %s: %w", namespace, name, annotation, err)
	}
	if _, ok := s.Data[sidecar.TokenSecretKey]; ok {
		return nil
	}
	if _, ok := s.StringData[sidecar.TokenSecretKey]; ok {
		return nil
	}
	return &tokenSecretError{fmt.Sprintf("%s: Secret %q in namespace %q has no key %q",
		annotation, name, namespace, sidecar.TokenSecretKey)}
}
