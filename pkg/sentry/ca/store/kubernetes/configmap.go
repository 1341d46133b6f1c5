package kubernetes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tplog "github.com/trustplane/trustplane/pkg/log"
)

// AnnotationRootsSHA256 is the ConfigMap annotation in which Sentry records
// the SHA-256 (hex) of the roots it published. Roots whose hash still
// matches were written by Sentry and not changed since, so Sentry may
// replace them when the Secret changes; any other content is left alone.
const AnnotationRootsSHA256 = "trustplane.io/published-roots-sha256"

// syncConfigMap publishes roots (the Secret's) to the ConfigMap where that
// replaces nothing anyone else wrote. Problems are logged and reported, not
// returned: the ConfigMap is derived data and the next event retries.
func (s *Store) syncConfigMap(ctx context.Context, sec *corev1.Secret, roots []byte) {
	for range maxAttempts {
		err := s.syncConfigMapOnce(ctx, sec, roots)
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			s.log.Debug("The trust anchors ConfigMap changed meanwhile; deciding again", zap.Error(err))
			continue
		}
		if err != nil {
			s.publishFailed(sec, "roots", err)
		}
		return
	}
	s.log.Warn("The trust anchors ConfigMap kept changing; will decide again on its next change", zap.String(logKeyConfigMap, s.cmName))
}

func (s *Store) syncConfigMapOnce(ctx context.Context, sec *corev1.Secret, roots []byte) error {
	cms := s.client.CoreV1().ConfigMaps(s.ns)
	cm, err := cms.Get(ctx, s.cmName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		created, err := cms.Create(ctx, s.publish(&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: s.cmName, Namespace: s.ns},
		}, roots), metav1.CreateOptions{})
		if err != nil {
			return &callError{verb: "create", kind: "ConfigMap", err: err}
		}
		s.setCMRV(created.ResourceVersion)
		s.log.Info("Created the trust anchors ConfigMap from the Secret", zap.String(logKeyConfigMap, s.cmName))
		return nil
	}
	if err != nil {
		return &callError{verb: "get", kind: "ConfigMap", err: err}
	}
	s.setCMRV(cm.ResourceVersion)
	cur := configMapRoots(cm, ConfigMapKey)
	sum := rootsHash(cur)
	switch {
	case bytes.Equal(cur, roots):
		if cm.Annotations[AnnotationRootsSHA256] == sum {
			return nil
		}
		// Equal content: adopt it so that it follows the Secret from now on.
		s.log.Debug("Adopting the trust anchors ConfigMap, which matches the Secret", zap.String(logKeyConfigMap, s.cmName))
		return s.updateConfigMap(ctx, cm, roots)
	case len(bytes.TrimSpace(cur)) == 0:
		if err := s.updateConfigMap(ctx, cm, roots); err != nil {
			return err
		}
		s.log.Info("Published the Secret's roots to the empty trust anchors ConfigMap", zap.String(logKeyConfigMap, s.cmName))
		return nil
	}
	diff := diffRoots(cur, roots)
	if cm.Annotations[AnnotationRootsSHA256] == sum {
		if err := s.updateConfigMap(ctx, cm, roots); err != nil {
			return err
		}
		if diff.same() {
			return nil
		}
		msg := fmt.Sprintf("ConfigMap %s key %s held roots Sentry published from an earlier content of Secret %s (%s); Sentry rewrote it from the Secret",
			s.cmName, ConfigMapKey, s.secretName, diff)
		s.log.Info("Rewrote the trust anchors ConfigMap to follow the Secret", zap.String(logKeyConfigMap, s.cmName), zap.String(tplog.KeyReason, diff.String()))
		s.event(sec, corev1.EventTypeNormal, ReasonConfigMapUpdated, msg)
		return nil
	}
	if diff.same() {
		s.log.Debug("The trust anchors ConfigMap holds the Secret's roots in other bytes; leaving it", zap.String(logKeyConfigMap, s.cmName))
		return nil
	}
	s.mismatch(sec, cm, diff)
	return nil
}

// callError is a failed apiserver call of the store.
type callError struct {
	verb, kind string // for example "create", "ConfigMap"
	err        error
}

func (e *callError) Error() string { return e.verb + " " + e.kind + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// publishFailed reports what (the roots, the JWT key set) that could not
// be published to the ConfigMap: a log line and a Warning Event on the
// Secret. A call that RBAC refuses is reported once, naming the rule it
// needs, and then at debug level only: the Role does not change by itself,
// and Sentry signs without the ConfigMap.
func (s *Store) publishFailed(sec *corev1.Secret, what string, err error) {
	var ce *callError
	if apierrors.IsForbidden(err) && errors.As(err, &ce) {
		if !s.firstRefusal(ce.verb + " " + ce.kind) {
			s.log.Debug("Still not allowed to publish to the trust anchors ConfigMap", zap.String(logKeyConfigMap, s.cmName), zap.Error(err))
			return
		}
		rule := fmt.Sprintf("%s configmaps named %s in namespace %s", ce.verb, s.cmName, s.ns)
		fix := "grant that rule (see the store's Role, config/rbac/sentry.yaml)"
		if ce.verb == "create" {
			// RBAC cannot restrict create by name.
			rule = fmt.Sprintf("create configmaps in namespace %s", s.ns)
			fix = "create the ConfigMap (empty), as Dapr's chart does, or " + fix
		}
		msg := fmt.Sprintf("could not publish the %s of Secret %s to ConfigMap %s in namespace %s: RBAC does not allow %s; %s. Sentry signs without it and will not report this again",
			what, s.secretName, s.cmName, s.ns, rule, fix)
		s.log.Warn("Not allowed to publish to the trust anchors ConfigMap: "+msg, zap.String(logKeyConfigMap, s.cmName))
		s.event(sec, corev1.EventTypeWarning, ReasonConfigMapFailed, msg)
		return
	}
	msg := fmt.Sprintf("could not publish the %s of Secret %s to ConfigMap %s in namespace %s: %v", what, s.secretName, s.cmName, s.ns, err)
	logMsg := "Could not publish the " + what
	if what == "roots" {
		logMsg = "Could not publish the trust anchors"
	}
	s.log.Error(logMsg, zap.String(logKeyConfigMap, s.cmName), zap.Error(err))
	s.event(sec, corev1.EventTypeWarning, ReasonConfigMapFailed, msg)
}

// firstRefusal reports whether call is refused for the first time.
func (s *Store) firstRefusal(call string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refusedCalls[call] {
		return false
	}
	if s.refusedCalls == nil {
		s.refusedCalls = map[string]bool{}
	}
	s.refusedCalls[call] = true
	return true
}

// mismatch reports, once per pair of versions, a ConfigMap whose roots
// disagree with the Secret's and which Sentry did not write.
func (s *Store) mismatch(sec *corev1.Secret, cm *corev1.ConfigMap, diff rootsDiff) {
	pair := cm.ResourceVersion + "/" + sec.ResourceVersion
	s.mu.Lock()
	repeat := s.warned == pair
	s.warned = pair
	s.mu.Unlock()
	if repeat {
		return
	}
	msg := fmt.Sprintf("ConfigMap %s key %s in namespace %s disagrees with Secret %s key %s: %s. "+
		"Sentry did not rewrite the ConfigMap: it was not written by Sentry or was changed since, and may be a rotation in progress. "+
		"Sentry signs with the Secret's issuer and never changes the Secret. "+
		"To fix, make the ConfigMap's %s equal to the Secret's, or delete that key (or the ConfigMap) to let Sentry publish the Secret's roots",
		s.cmName, ConfigMapKey, s.ns, s.secretName, s.keys[0], diff, ConfigMapKey)
	s.log.Warn("The trust anchors ConfigMap disagrees with the trust bundle Secret; left unchanged",
		zap.String(logKeyConfigMap, s.cmName), zap.String(tplog.KeyReason, diff.String()))
	s.event(sec, corev1.EventTypeWarning, ReasonConfigMapMismatch, msg)
}

// updateConfigMap writes roots into cm, with cm's resourceVersion as a
// precondition.
func (s *Store) updateConfigMap(ctx context.Context, cm *corev1.ConfigMap, roots []byte) error {
	updated, err := s.client.CoreV1().ConfigMaps(s.ns).Update(ctx, s.publish(cm.DeepCopy(), roots), metav1.UpdateOptions{})
	if err != nil {
		return &callError{verb: "update", kind: "ConfigMap", err: err}
	}
	s.setCMRV(updated.ResourceVersion)
	return nil
}

// publish puts roots and their hash annotation into cm.
func (s *Store) publish(cm *corev1.ConfigMap, roots []byte) *corev1.ConfigMap {
	key := ConfigMapKey
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[AnnotationRootsSHA256] = rootsHash(roots)
	delete(cm.Data, key)
	delete(cm.BinaryData, key)
	if utf8.Valid(roots) {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[key] = string(roots)
	} else {
		if cm.BinaryData == nil {
			cm.BinaryData = map[string][]byte{}
		}
		cm.BinaryData[key] = roots
	}
	return cm
}

// configMapRoots returns the ConfigMap's roots, text or binary.
func configMapRoots(cm *corev1.ConfigMap, key string) []byte {
	if v, ok := cm.Data[key]; ok {
		return []byte(v)
	}
	return cm.BinaryData[key]
}

func rootsHash(roots []byte) string {
	sum := sha256.Sum256(roots)
	return hex.EncodeToString(sum[:])
}

func (s *Store) setCMRV(rv string) {
	s.mu.Lock()
	s.lastCMRV = rv
	s.mu.Unlock()
}

func (s *Store) cmRV() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastCMRV
}
