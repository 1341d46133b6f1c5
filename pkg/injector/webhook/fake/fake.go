// Package fake provides an in-memory webhook.SecretReader and
// webhook.ComponentLister for tests.
//
// Usage:
//
//	secrets := fake.NewSecrets(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "api"},
//		Data: map[string][]byte{"token": []byte("x")}})
//	h, _ := webhook.New(webhook.Options{Secrets: secrets, ...})
package fake

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Secrets is an in-memory SecretReader. The zero value holds no Secrets.
type Secrets struct {
	mu      sync.Mutex
	secrets map[string]*corev1.Secret
	// Err, when set, is returned by every GetSecret call.
	Err error
	// Calls counts GetSecret calls.
	Calls int
}

// NewSecrets returns a reader holding copies of secrets.
func NewSecrets(secrets ...*corev1.Secret) *Secrets {
	s := &Secrets{}
	for _, sec := range secrets {
		s.Put(sec)
	}
	return s
}

// Put stores a copy of sec under its namespace and name.
func (s *Secrets) Put(sec *corev1.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets == nil {
		s.secrets = map[string]*corev1.Secret{}
	}
	s.secrets[sec.Namespace+"/"+sec.Name] = sec.DeepCopy()
}

// GetSecret returns a copy of the Secret, or a NotFound API error.
func (s *Secrets) GetSecret(_ context.Context, namespace, name string) (*corev1.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls++
	if s.Err != nil {
		return nil, s.Err
	}
	sec, ok := s.secrets[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}
	return sec.DeepCopy(), nil
}
