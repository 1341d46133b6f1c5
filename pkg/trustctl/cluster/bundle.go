package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	store "github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
)

// The objects and Dapr's default keys Sentry keeps its trust bundle in (see
// Keys for the ones in force).
const (
	SecretName    = store.DefaultSecretName
	ConfigMapName = store.DefaultConfigMapName
	RootKey       = store.DefaultRootKey
	IssuerKey     = store.DefaultIssuerKey
	KeyKey        = store.DefaultKeyKey
)

// maxConfigMapAttempts bounds the retries of a ConfigMap write racing
// Sentry's own republishing.
const maxConfigMapAttempts = 5

// TrustBundle is the trust bundle objects of one namespace as read.
type TrustBundle struct {
	// Namespace is where the objects live.
	Namespace string
	// Keys are the Secret's key names, as Sentry reads them.
	Keys Keys
	// Secret is the trust bundle Secret; nil when absent.
	Secret *corev1.Secret
	// ConfigMap is the published roots ConfigMap; nil when absent.
	ConfigMap *corev1.ConfigMap
	// Bundle is the Secret's bundle; nil when the Secret is absent, empty or
	// invalid (see Err).
	Bundle *bundle.Bundle
	// Err says why Bundle is nil: it wraps ErrNoBundle for an absent or
	// empty Secret, or is the *bundle.Error of an invalid one.
	Err error
}

// Require returns the bundle, or Err when there is none.
func (tb *TrustBundle) Require() (*bundle.Bundle, error) {
	if tb.Bundle == nil {
		return nil, tb.Err
	}
	return tb.Bundle, nil
}

// Owner names the controller that owns the Secret (a cert-manager
// Certificate, a controller ownerReference) and how to renew there; empty
// when none does or there is no Secret.
func (tb *TrustBundle) Owner() string {
	if tb.Secret == nil {
		return ""
	}
	return externalOwner(tb.Secret)
}

// PublishedRoots returns the ConfigMap's ca.crt (nil when absent).
func (tb *TrustBundle) PublishedRoots() []byte {
	if tb.ConfigMap == nil {
		return nil
	}
	return configMapRoots(tb.ConfigMap)
}

func configMapRoots(cm *corev1.ConfigMap) []byte {
	if v, ok := cm.Data[store.ConfigMapKey]; ok {
		return []byte(v)
	}
	return cm.BinaryData[store.ConfigMapKey]
}

// ReadBundle reads the Secret and the ConfigMap of namespace. Only API
// failures are errors; an absent, empty or invalid Secret is reported in
// TrustBundle.Err, so a renewal can still replace it.
func (c *Client) ReadBundle(ctx context.Context, namespace string) (*TrustBundle, error) {
	tb := &TrustBundle{Namespace: namespace, Keys: c.sentryKeys(ctx, namespace)}
	sec, err := c.kube.CoreV1().Secrets(namespace).Get(ctx, SecretName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		tb.Err = fmt.Errorf("%w: Secret %s does not exist in namespace %s; Sentry creates it when it first starts",
			ErrNoBundle, SecretName, namespace)
	case err != nil:
		return nil, fmt.Errorf("get Secret %s in namespace %s: %w", SecretName, namespace, err)
	default:
		tb.Secret = sec
		tb.Bundle, tb.Err = parseSecret(sec, tb.Keys)
	}
	cm, err := c.kube.CoreV1().ConfigMaps(namespace).Get(ctx, ConfigMapName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("get ConfigMap %s in namespace %s: %w", ConfigMapName, namespace, err)
	default:
		tb.ConfigMap = cm
	}
	return tb, nil
}

// parseSecret parses the Secret's three keys.
func parseSecret(sec *corev1.Secret, k Keys) (*bundle.Bundle, error) {
	keys := k.list()
	var missing []string
	for _, k := range keys {
		if len(bytes.TrimSpace(sec.Data[k])) == 0 {
			missing = append(missing, k)
		}
	}
	switch len(missing) {
	case 0:
	case len(keys):
		return nil, fmt.Errorf("%w: Secret %s in namespace %s is empty; Sentry fills it when it starts",
			ErrNoBundle, sec.Name, sec.Namespace)
	default:
		return nil, fmt.Errorf("incomplete Secret %s in namespace %s: it lacks %s", sec.Name, sec.Namespace, strings.Join(missing, ", "))
	}
	b, err := bundle.Parse(sec.Data[k.Root], sec.Data[k.Issuer], sec.Data[k.Key])
	if err != nil {
		return nil, fmt.Errorf("parse Secret %s in namespace %s: %w", sec.Name, sec.Namespace, err)
	}
	return b, nil
}

// WriteBundle stores nb in the Secret read as tb (created when tb has none,
// updated with tb's resourceVersion as a precondition otherwise, keeping its
// other keys, labels and annotations), then publishes nb's roots to the
// ConfigMap with the published-roots annotation. A Secret changed since tb
// was read is an error wrapping ErrConflict, one another controller owns
// (cert-manager, external-secrets) an error wrapping ErrExternallyOwned;
// nothing is written then.
func (c *Client) WriteBundle(ctx context.Context, tb *TrustBundle, nb *bundle.Bundle) error {
	if nb == nil || len(nb.RootsPEM) == 0 || len(nb.IssuerChainPEM) == 0 || len(nb.IssuerKeyPEM) == 0 {
		return fmt.Errorf("write trust bundle: the bundle has no roots, issuer or key")
	}
	if owner := tb.Owner(); owner != "" {
		return fmt.Errorf("%w: Secret %s in namespace %s belongs to %s; trustctl would be overwritten, so nothing was written",
			ErrExternallyOwned, SecretName, tb.Namespace, owner)
	}
	k := tb.Keys
	if k == (Keys{}) {
		k = DefaultKeys
	}
	secrets := c.kube.CoreV1().Secrets(tb.Namespace)
	var sec *corev1.Secret
	if tb.Secret == nil {
		sec = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: tb.Namespace},
			Type:       corev1.SecretTypeOpaque,
		}
	} else {
		sec = tb.Secret.DeepCopy()
	}
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	sec.Data[k.Root] = nb.RootsPEM
	sec.Data[k.Issuer] = nb.IssuerChainPEM
	sec.Data[k.Key] = nb.IssuerKeyPEM
	var err error
	if tb.Secret == nil {
		_, err = secrets.Create(ctx, sec, metav1.CreateOptions{})
	} else {
		_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{})
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("write Secret %s in namespace %s: %w: it was changed after it was read; nothing was written, run the command again: %w",
			SecretName, tb.Namespace, ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("write Secret %s in namespace %s: %w", SecretName, tb.Namespace, err)
	}
	return c.publishRoots(ctx, tb.Namespace, tb.ConfigMap, nb.RootsPEM)
}

// publishRoots writes roots and their hash annotation into the ConfigMap,
// starting from cm as read (nil: absent). A ConfigMap changed, created or
// deleted meanwhile is read again and the write retried.
func (c *Client) publishRoots(ctx context.Context, namespace string, cm *corev1.ConfigMap, roots []byte) error {
	cms := c.kube.CoreV1().ConfigMaps(namespace)
	sum := RootsSHA256(roots)
	for range maxConfigMapAttempts {
		var err error
		switch {
		case cm == nil:
			_, err = cms.Create(ctx, publish(&corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: namespace},
			}, roots, sum), metav1.CreateOptions{})
		case bytes.Equal(configMapRoots(cm), roots) && cm.Annotations[store.AnnotationRootsSHA256] == sum:
			return nil // Sentry got there first.
		default:
			_, err = cms.Update(ctx, publish(cm.DeepCopy(), roots, sum), metav1.UpdateOptions{})
		}
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("write ConfigMap %s in namespace %s (the Secret was written; Sentry publishes its roots when it sees it): %w",
				ConfigMapName, namespace, err)
		}
		cm, err = cms.Get(ctx, ConfigMapName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = nil
		} else if err != nil {
			return fmt.Errorf("get ConfigMap %s in namespace %s: %w", ConfigMapName, namespace, err)
		}
	}
	return fmt.Errorf("write ConfigMap %s in namespace %s: %w: it kept changing", ConfigMapName, namespace, ErrConflict)
}

// publish puts roots and their hash into cm: as text, or as binary data
// when they are not UTF-8 (as Sentry does).
func publish(cm *corev1.ConfigMap, roots []byte, sum string) *corev1.ConfigMap {
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[store.AnnotationRootsSHA256] = sum
	delete(cm.Data, store.ConfigMapKey)
	delete(cm.BinaryData, store.ConfigMapKey)
	if utf8.Valid(roots) {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[store.ConfigMapKey] = string(roots)
		return cm
	}
	if cm.BinaryData == nil {
		cm.BinaryData = map[string][]byte{}
	}
	cm.BinaryData[store.ConfigMapKey] = roots
	return cm
}

// RootsSHA256 is the value of the published-roots annotation for roots: the
// hex SHA-256 of the bytes, as Sentry computes it.
func RootsSHA256(roots []byte) string {
	sum := sha256.Sum256(roots)
	return hex.EncodeToString(sum[:])
}
