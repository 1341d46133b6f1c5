package jwtrotate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwk"
	corev1 "k8s.io/api/core/v1"

	store "github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
)

// The Secret (and, for the key set, ConfigMap) keys Sentry keeps its JWT
// material in.
const (
	KeyKey  = store.DefaultJWTKeyKey
	JWKSKey = store.DefaultJWKSKey
)

// ErrNoJWT means the Secret holds no JWT material: Sentry runs without
// --jwt-enabled, or has not started since it was turned on.
var ErrNoJWT = errors.New("no JWT signing key in the trust bundle")

// Key is one key of the key set as found.
type Key struct {
	// KeyID is the entry's kid.
	KeyID string `json:"kid"`
	// Thumbprint is the RFC 7638 SHA-256 thumbprint of the public key.
	Thumbprint string `json:"thumbprint"`
	// Algorithm is the entry's alg.
	Algorithm string `json:"alg,omitempty"`
	// Role is signing, pending (added, not yet signing), old (replaced,
	// still published) or published.
	Role string `json:"role"`
	// Published is whether the ConfigMap's key set holds it.
	Published bool `json:"published"`
}

// material parses the Secret's JWT key and key set.
func material(tb *cluster.TrustBundle) (*jwt.Material, error) {
	if tb.Secret == nil || len(tb.Secret.Data[KeyKey]) == 0 || len(tb.Secret.Data[JWKSKey]) == 0 {
		return nil, fmt.Errorf("%w: Secret %s in namespace %s lacks %s or %s; start Sentry with --jwt-enabled",
			ErrNoJWT, cluster.SecretName, tb.Namespace, KeyKey, JWKSKey)
	}
	m, err := jwt.ParseMaterial(tb.Secret.Data[KeyKey], tb.Secret.Data[JWKSKey], jwt.ParseOptions{})
	if err != nil {
		return nil, fmt.Errorf("parse the JWT material of Secret %s in namespace %s: %w", cluster.SecretName, tb.Namespace, err)
	}
	return m, nil
}

// keyThumbprint is the thumbprint of a PEM private key.
func keyThumbprint(keyPEM []byte) (string, error) {
	k, err := jwk.ParseKey(keyPEM, jwk.WithPEM(true))
	if err != nil {
		return "", fmt.Errorf("parse JWT private key: %w", err)
	}
	return jwt.Thumbprint(k)
}

// setKeys lists the keys of a key set by thumbprint.
func setKeys(set jwk.Set) ([]Key, error) {
	var out []Key
	for i := range set.Len() {
		k, _ := set.Key(i)
		tp, err := jwt.Thumbprint(k)
		if err != nil {
			return nil, err
		}
		out = append(out, Key{KeyID: k.KeyID(), Thumbprint: tp, Algorithm: k.Algorithm().String(), Role: "published"})
	}
	return out, nil
}

// publishedThumbprints are the thumbprints of the ConfigMap's key set
// (nil with a reason when it has none or it cannot be read).
func publishedThumbprints(cm *corev1.ConfigMap) ([]string, string) {
	if cm == nil {
		return nil, fmt.Sprintf("ConfigMap %s is absent", cluster.ConfigMapName)
	}
	data := cm.Data[JWKSKey]
	if data == "" {
		return nil, fmt.Sprintf("ConfigMap %s has no %s", cluster.ConfigMapName, JWKSKey)
	}
	set, err := jwt.ParseJWKS([]byte(data))
	if err != nil {
		return nil, fmt.Sprintf("ConfigMap %s, key %s: %v", cluster.ConfigMapName, JWKSKey, err)
	}
	keys, err := setKeys(set)
	if err != nil {
		return nil, err.Error()
	}
	var out []string
	for _, k := range keys {
		out = append(out, k.Thumbprint)
	}
	return out, ""
}

// withKey returns jwksJSON with the keys of addJSON appended.
func withKey(jwksJSON, addJSON []byte) ([]byte, error) {
	set, err := jwt.ParseJWKS(jwksJSON)
	if err != nil {
		return nil, err
	}
	add, err := jwt.ParseJWKS(addJSON)
	if err != nil {
		return nil, err
	}
	kids := map[string]bool{}
	for i := range set.Len() {
		k, _ := set.Key(i)
		kids[k.KeyID()] = true
	}
	for i := range add.Len() {
		k, _ := add.Key(i)
		if kids[k.KeyID()] {
			return nil, fmt.Errorf("the key set already has a key with kid %q", k.KeyID())
		}
		if err := set.AddKey(k); err != nil {
			return nil, fmt.Errorf("add key %q: %w", k.KeyID(), err)
		}
	}
	return encodeSet(set)
}

// withoutKey returns jwksJSON without the keys whose thumbprint is tp.
func withoutKey(jwksJSON []byte, tp string) ([]byte, error) {
	set, err := jwt.ParseJWKS(jwksJSON)
	if err != nil {
		return nil, err
	}
	out := jwk.NewSet()
	removed := 0
	for i := range set.Len() {
		k, _ := set.Key(i)
		got, err := jwt.Thumbprint(k)
		if err != nil {
			return nil, err
		}
		if got == tp {
			removed++
			continue
		}
		if err := out.AddKey(k); err != nil {
			return nil, err
		}
	}
	if removed == 0 {
		return nil, fmt.Errorf("the key set has no key with thumbprint %s", tp)
	}
	return encodeSet(out)
}

func encodeSet(set jwk.Set) ([]byte, error) {
	data, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode key set: %w", err)
	}
	return append(data, '\n'), nil
}

// keysOf lists the Secret's key set with each key's role and whether it is
// published.
func keysOf(tb *cluster.TrustBundle, st State, signing string) ([]Key, error) {
	set, err := jwt.ParseJWKS(tb.Secret.Data[JWKSKey])
	if err != nil {
		return nil, fmt.Errorf("parse %s of Secret %s: %w", JWKSKey, cluster.SecretName, err)
	}
	keys, err := setKeys(set)
	if err != nil {
		return nil, err
	}
	pub, _ := publishedThumbprints(tb.ConfigMap)
	for i := range keys {
		k := &keys[i]
		k.Published = slices.Contains(pub, k.Thumbprint)
		switch {
		case k.Thumbprint == signing:
			k.Role = "signing"
		case k.Thumbprint == st.NewKey && st.Phase == PhaseKeyAdded:
			k.Role = "pending"
		case k.Thumbprint == st.OldKey && st.Phase == PhaseSigningSwitched:
			k.Role = "old"
		}
	}
	return keys, nil
}
