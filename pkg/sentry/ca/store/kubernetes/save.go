package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// maxAttempts bounds the retries of a write that lost a race to a change
// that left the object writable (an empty Secret, a ConfigMap).
const maxAttempts = 5

// Save stores a newly generated bundle in the Secret, then publishes its
// roots to the ConfigMap.
//
// Save never overwrites: when the Secret holds anything in one of the three
// keys it returns an error wrapping ErrExists and writes nothing. An absent
// Secret is created; one that exists with the three keys absent or empty
// (as Helm pre-creates it) is updated with its resourceVersion as a
// precondition, keeping its other keys, labels and annotations. When
// another writer wins the race (AlreadyExists or Conflict), Save reads the
// Secret again: if the winner stored a bundle, Save returns an error
// wrapping ErrExists and the caller should Load it; if the Secret is still
// empty, Save tries again.
//
// A ConfigMap that cannot be written is logged and reported as an Event, not
// returned: the Secret holds the bundle and Watch publishes it again.
func (s *Store) Save(b *bundle.Bundle) error {
	if b == nil || len(b.RootsPEM) == 0 || len(b.IssuerChainPEM) == 0 || len(b.IssuerKeyPEM) == 0 {
		return errors.New("save trust bundle: the bundle has no roots, issuer or key to write")
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	secrets := s.client.CoreV1().Secrets(s.ns)
	for range maxAttempts {
		cur, err := secrets.Get(ctx, s.secretName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			created, err := secrets.Create(ctx, s.newSecret(b), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				s.log.Info("Another writer created the trust bundle Secret first; reading it again")
				continue
			}
			if apierrors.IsForbidden(err) {
				// RBAC cannot restrict create by name; Dapr's Role has none.
				return fmt.Errorf("save trust bundle: Secret %s does not exist in namespace %s and RBAC does not allow Sentry to create it "+
					"(create secrets in namespace %s): create it empty, as Dapr's chart does, or grant that rule (see the store's Role, config/rbac/sentry.yaml): %w",
					s.secretName, s.ns, s.ns, err)
			}
			if err != nil {
				return fmt.Errorf("save trust bundle: create Secret %s in namespace %s: %w", s.secretName, s.ns, err)
			}
			s.log.Info("Created the trust bundle Secret")
			s.saved(ctx, b, created)
			return nil
		}
		if err != nil {
			return fmt.Errorf("save trust bundle: get Secret %s in namespace %s: %w", s.secretName, s.ns, err)
		}
		if held := s.held(cur, b); len(held) > 0 {
			return fmt.Errorf("save trust bundle: %w: Secret %s in namespace %s holds %s; refusing to overwrite it",
				ErrExists, s.secretName, s.ns, strings.Join(held, ", "))
		}
		upd := cur.DeepCopy()
		if upd.Data == nil {
			upd.Data = map[string][]byte{}
		}
		s.fill(upd.Data, b)
		updated, err := secrets.Update(ctx, upd, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			s.log.Info("The trust bundle Secret changed while it was being filled; reading it again")
			continue
		}
		if err != nil {
			return fmt.Errorf("save trust bundle: update Secret %s in namespace %s: %w", s.secretName, s.ns, err)
		}
		s.log.Info("Filled the empty trust bundle Secret")
		s.saved(ctx, b, updated)
		return nil
	}
	return fmt.Errorf("save trust bundle: Secret %s in namespace %s kept changing; gave up after %d attempts", s.secretName, s.ns, maxAttempts)
}

// saved remembers a bundle just written and publishes its roots.
func (s *Store) saved(ctx context.Context, b *bundle.Bundle, sec *corev1.Secret) {
	s.setSecretRV(sec.ResourceVersion)
	if !s.jwtOn() {
		b = b.WithJWT(nil)
	}
	s.last.Store(b)
	s.publishAll(ctx, sec, b)
}

// held returns the keys of sec that Saving b would write and that hold
// something.
func (s *Store) held(sec *corev1.Secret, b *bundle.Bundle) []string {
	keys := s.keys[:]
	if b.JWT != nil && s.jwtOn() {
		keys = append(keys, s.jwtKeys[:]...)
	}
	return heldKeys(sec, keys)
}

func (s *Store) newSecret(b *bundle.Bundle) *corev1.Secret {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.secretName, Namespace: s.ns},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{},
	}
	s.fill(sec.Data, b)
	return sec
}

// fill puts b's values into a Secret's data: the three X.509 values and,
// with JWT on and b.JWT set, the two JWT ones.
func (s *Store) fill(data map[string][]byte, b *bundle.Bundle) {
	for i, v := range [3][]byte{b.RootsPEM, b.IssuerChainPEM, b.IssuerKeyPEM} {
		data[s.keys[i]] = v
	}
	if b.JWT != nil && s.jwtOn() {
		data[s.jwtKeys[0]], data[s.jwtKeys[1]] = b.JWT.KeyPEM, b.JWT.JWKSJSON
	}
}
