package kubernetes

import (
	"fmt"
	"strings"
)

// Reasons of the Events the store records on the Secret.
const (
	// ReasonIncomplete: the Secret holds some of the three keys but not
	// all (Warning).
	ReasonIncomplete = "TrustBundleIncomplete"
	// ReasonInvalid: the three keys do not make a valid bundle (Warning).
	ReasonInvalid = "TrustBundleInvalid"
	// ReasonConfigMapMismatch: the ConfigMap's roots disagree with the
	// Secret's and Sentry left them as they are (Warning).
	ReasonConfigMapMismatch = "TrustAnchorsMismatch"
	// ReasonConfigMapUpdated: Sentry rewrote roots it had itself published
	// in the ConfigMap, to follow a changed Secret (Normal).
	ReasonConfigMapUpdated = "TrustAnchorsUpdated"
	// ReasonConfigMapFailed: the ConfigMap could not be read or written
	// (Warning).
	ReasonConfigMapFailed = "TrustAnchorsNotPublished"
)

// PartialError means the Secret holds some of the three keys and not the
// others. Sentry must not generate a CA then: it would replace what a user
// put there.
type PartialError struct {
	// Namespace and Secret locate the Secret.
	Namespace, Secret string
	// Missing are the keys the Secret lacks.
	Missing []string
	// Empty are the keys that hold nothing but white space.
	Empty []string
	// Present are the keys that hold something.
	Present []string

	keys [3]string
}

// Error names the missing and empty keys and what to do.
func (e *PartialError) Error() string {
	var parts []string
	for _, k := range e.Missing {
		parts = append(parts, "key "+k+" is missing")
	}
	for _, k := range e.Empty {
		parts = append(parts, "key "+k+" is empty")
	}
	absent := append(append([]string(nil), e.Missing...), e.Empty...)
	return fmt.Sprintf("%s: Secret %s in namespace %s: %s (%s present); refusing to generate a new CA over it; restore %s in Secret %s in namespace %s, or %s",
		ErrIncomplete, e.Secret, e.Namespace, strings.Join(parts, ", "), strings.Join(e.Present, ", "),
		strings.Join(absent, " and "), e.Secret, e.Namespace, deleteAll(e.keys))
}

// Is matches ErrIncomplete.
func (e *PartialError) Is(target error) bool { return target == ErrIncomplete }

// InvalidError means the Secret's three keys do not make a valid bundle.
type InvalidError struct {
	// Namespace and Secret locate the Secret.
	Namespace, Secret string
	// Key is the key at fault.
	Key string
	// Err is the problem, a *bundle.Error.
	Err error

	keys [3]string
}

// Error names the Secret, the key, the problem and what to do.
func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s: Secret %s in namespace %s, key %s: %v; fix %s in Secret %s in namespace %s, or %s",
		ErrInvalid, e.Secret, e.Namespace, e.Key, e.Err, e.Key, e.Secret, e.Namespace, deleteAll(e.keys))
}

// Unwrap returns the problem.
func (e *InvalidError) Unwrap() error { return e.Err }

// Is matches ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func deleteAll(keys [3]string) string {
	return fmt.Sprintf("delete all three keys (%s) to let Sentry generate a new CA at its next start", strings.Join(keys[:], ", "))
}
