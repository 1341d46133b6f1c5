package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

// Default JWT keys of the Secret (and, for the key set, the ConfigMap), as
// Dapr names them.
const (
	DefaultJWTKeyKey = "jwt.key"
	DefaultJWKSKey   = "jwks.json"
)

// JWTOptions turns on the two JWT-SVID keys of the Secret.
type JWTOptions struct {
	// KeyKey and JWKSKey are the Secret's keys of the signing key and the
	// key set (JWKSKey is also the ConfigMap's). Defaults jwt.key and
	// jwks.json.
	KeyKey, JWKSKey string
	// Parse is the key ID and algorithm the material must have.
	Parse jwt.ParseOptions
}

// JWTKeys returns the Secret keys of the JWT signing key and key set; empty
// when JWT is off.
func (s *Store) JWTKeys() (key, jwks string) { return s.jwtKeys[0], s.jwtKeys[1] }

func (s *Store) jwtOn() bool { return s.jwtKeys[0] != "" }

// resolveJWT fills s.jwtKeys from opts.
func (s *Store) resolveJWT(opts *JWTOptions) error {
	if opts == nil {
		return nil
	}
	s.jwtKeys = [2]string{or(opts.KeyKey, DefaultJWTKeyKey), or(opts.JWKSKey, DefaultJWKSKey)}
	s.jwtParse = opts.Parse
	seen := map[string]bool{}
	for _, k := range append(s.keys[:], s.jwtKeys[:]...) {
		if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
			return fmt.Errorf("trust bundle store: key %q: %s", k, strings.Join(errs, "; "))
		}
		if seen[k] {
			return fmt.Errorf("trust bundle store: every key must differ, %s is named twice", k)
		}
		seen[k] = true
	}
	return nil
}

// parseJWT reads the Secret's JWT material: nil when JWT is off or both keys
// are absent or empty, an error wrapping ErrIncomplete when only one holds
// something, and one wrapping ErrInvalid (and a *jwt.Error) naming the key
// at fault when they do not belong together.
func (s *Store) parseJWT(sec *corev1.Secret) (*jwt.Material, error) {
	if !s.jwtOn() {
		return nil, nil
	}
	var present, absent []string
	for _, k := range s.jwtKeys {
		if len(bytes.TrimSpace(sec.Data[k])) == 0 {
			absent = append(absent, k)
		} else {
			present = append(present, k)
		}
	}
	switch len(present) {
	case 0:
		return nil, nil
	case 1:
		return nil, fmt.Errorf("%w: Secret %s in namespace %s holds key %s but key %s is missing or empty; refusing to generate a JWT signing key over it; restore %s, or delete %s to let Sentry generate both",
			ErrIncomplete, s.secretName, s.ns, present[0], absent[0], absent[0], present[0])
	}
	m, err := jwt.ParseMaterial(sec.Data[s.jwtKeys[0]], sec.Data[s.jwtKeys[1]], s.jwtParse)
	if err != nil {
		key := s.jwtKeys[1]
		var je *jwt.Error
		if errors.As(err, &je) && je.Part == jwt.PartKey {
			key = s.jwtKeys[0]
		}
		return nil, fmt.Errorf("%w: Secret %s in namespace %s, key %s: %w; fix %s, or delete both %s and %s to let Sentry generate a new JWT signing key",
			ErrInvalid, s.secretName, s.ns, key, err, key, s.jwtKeys[0], s.jwtKeys[1])
	}
	return m, nil
}

// SaveJWT stores newly generated JWT material in the Secret that holds the
// bundle, then publishes the key set to the ConfigMap. It never
// overwrites: when either JWT key holds something it returns an error
// wrapping ErrExists and writes nothing. The update has the Secret's
// resourceVersion as a precondition; a lost race is read again.
func (s *Store) SaveJWT(m *jwt.Material) error {
	if !s.jwtOn() {
		return errors.New("save JWT material: JWT is not enabled on this store")
	}
	if m == nil || len(m.KeyPEM) == 0 || len(m.JWKSJSON) == 0 {
		return errors.New("save JWT material: no key or key set to write")
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	secrets := s.client.CoreV1().Secrets(s.ns)
	for range maxAttempts {
		cur, err := secrets.Get(ctx, s.secretName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("save JWT material: get Secret %s in namespace %s: %w", s.secretName, s.ns, err)
		}
		if held := heldKeys(cur, s.jwtKeys[:]); len(held) > 0 {
			return fmt.Errorf("save JWT material: %w: Secret %s in namespace %s holds %s; refusing to overwrite it",
				ErrExists, s.secretName, s.ns, strings.Join(held, ", "))
		}
		upd := cur.DeepCopy()
		if upd.Data == nil {
			upd.Data = map[string][]byte{}
		}
		upd.Data[s.jwtKeys[0]], upd.Data[s.jwtKeys[1]] = m.KeyPEM, m.JWKSJSON
		updated, err := secrets.Update(ctx, upd, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			s.log.Info("The trust bundle Secret changed while the JWT key was added; reading it again")
			continue
		}
		if err != nil {
			return fmt.Errorf("save JWT material: update Secret %s in namespace %s: %w", s.secretName, s.ns, err)
		}
		s.log.Info("Added the JWT signing key and key set to the trust bundle Secret")
		s.setSecretRV(updated.ResourceVersion)
		if last := s.last.Load(); last != nil {
			s.last.Store(last.WithJWT(m))
		}
		s.syncJWKS(ctx, updated, m)
		return nil
	}
	return fmt.Errorf("save JWT material: Secret %s in namespace %s kept changing; gave up after %d attempts", s.secretName, s.ns, maxAttempts)
}

func heldKeys(sec *corev1.Secret, keys []string) []string {
	var held []string
	for _, k := range keys {
		if len(bytes.TrimSpace(sec.Data[k])) > 0 {
			held = append(held, k)
		}
	}
	return held
}

// publishAll publishes a bundle's roots and, when it has JWT material, its
// public key set to the ConfigMap.
func (s *Store) publishAll(ctx context.Context, sec *corev1.Secret, b *bundle.Bundle) {
	s.syncConfigMap(ctx, sec, b.RootsPEM)
	s.syncJWKS(ctx, sec, b.JWT)
}

// syncJWKS makes the ConfigMap's key set the Secret's (public members only).
// The key set in the ConfigMap is derived data that only Sentry writes, so
// it follows the Secret unconditionally; it is never deleted. Problems are
// logged and reported, not returned.
func (s *Store) syncJWKS(ctx context.Context, sec *corev1.Secret, m *jwt.Material) {
	if m == nil || !s.jwtOn() {
		return
	}
	want := string(m.PublicJWKS())
	cms := s.client.CoreV1().ConfigMaps(s.ns)
	for range maxAttempts {
		cm, err := cms.Get(ctx, s.cmName, metav1.GetOptions{})
		if err == nil && cm.Data[s.jwtKeys[1]] == want {
			return
		}
		if err != nil {
			err = &callError{verb: "get", kind: "ConfigMap", err: err}
		} else {
			upd := cm.DeepCopy()
			if upd.Data == nil {
				upd.Data = map[string]string{}
			}
			upd.Data[s.jwtKeys[1]] = want
			var updated *corev1.ConfigMap
			if updated, err = cms.Update(ctx, upd, metav1.UpdateOptions{}); err == nil {
				s.setCMRV(updated.ResourceVersion)
				s.log.Info("Published the JWT key set to the trust anchors ConfigMap", zap.String(logKeyConfigMap, s.cmName), zap.Int("keys", m.Keys()))
				return
			}
			err = &callError{verb: "update", kind: "ConfigMap", err: err}
		}
		if apierrors.IsConflict(err) {
			continue
		}
		s.publishFailed(sec, "JWT key set", err)
		return
	}
}
