package server

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// secretTimeout bounds one Secret read; the API server's webhook timeout
// (10 s) bounds the whole admission.
const secretTimeout = 3 * time.Second

// SecretGetter reads Secrets with one GET per call. The injector reads a
// Secret only for a pod that names one in dapr.io/api-token-secret or
// dapr.io/app-token-secret, to deny it at admission when the Secret or its
// key is missing. A GET per such pod costs one API call, and needs only
// "get secrets" (never list or watch); a cluster-wide Secret informer would
// keep every Secret of the cluster in the injector's memory and need list
// and watch on all of them, for a check that runs once per pod creation.
type SecretGetter struct {
	// Client reads the Secrets.
	Client kubernetes.Interface
}

// GetSecret returns the Secret namespace/name; a missing Secret is an error
// for which apierrors.IsNotFound is true.
func (g SecretGetter) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	ctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	s, err := g.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", namespace, name, err)
	}
	return s, nil
}
