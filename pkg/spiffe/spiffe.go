package spiffe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// DefaultTrustDomain is the trust domain of a request that names none.
const DefaultTrustDomain = "public"

// SentryAppID is the app ID of Sentry's own identity.
const SentryAppID = "dapr-sentry"

// MaxAppIDLength is the longest app ID or namespace accepted.
const MaxAppIDLength = 64

// Errors callers branch on. Each is wrapped with the offending value.
var (
	ErrEmptyAppID     = errors.New("app ID is empty")
	ErrEmptyNamespace = errors.New("namespace is empty")
	ErrInvalidName    = errors.New("not a DNS-1123 label")
	ErrNotWorkloadID  = errors.New("not a spiffe://<trust-domain>/ns/<namespace>/<app-id> ID")
)

// Workload is the parsed form of a workload SPIFFE ID.
type Workload struct {
	TrustDomain spiffeid.TrustDomain
	Namespace   string
	AppID       string
}

// ID returns the workload's SPIFFE ID.
func (w Workload) ID() (spiffeid.ID, error) {
	return AppID(w.TrustDomain, w.Namespace, w.AppID)
}

// TrustDomain parses the trust domain of a request. An empty name means
// DefaultTrustDomain.
func TrustDomain(name string) (spiffeid.TrustDomain, error) {
	if name == "" {
		name = DefaultTrustDomain
	}
	td, err := spiffeid.TrustDomainFromString(name)
	if err != nil {
		return spiffeid.TrustDomain{}, fmt.Errorf("trust domain %q: %w", name, err)
	}
	return td, nil
}

// AppID builds spiffe://<td>/ns/<namespace>/<appID> after checking that the
// namespace and the app ID are valid names (see ValidateName).
func AppID(td spiffeid.TrustDomain, namespace, appID string) (spiffeid.ID, error) {
	if td.IsZero() {
		return spiffeid.ID{}, errors.New("trust domain is empty")
	}
	if err := ValidateNamespace(namespace); err != nil {
		return spiffeid.ID{}, err
	}
	if err := ValidateAppID(appID); err != nil {
		return spiffeid.ID{}, err
	}
	return spiffeid.FromSegments(td, "ns", namespace, appID)
}

// SentryID is Sentry's own identity in namespace: the ID its serving
// certificate carries and the audience of tokens sent to it.
func SentryID(td spiffeid.TrustDomain, namespace string) (spiffeid.ID, error) {
	return AppID(td, namespace, SentryAppID)
}

// Parse splits a workload SPIFFE ID into its parts.
func Parse(id spiffeid.ID) (Workload, error) {
	segs := strings.Split(strings.TrimPrefix(id.Path(), "/"), "/")
	if len(segs) != 3 || segs[0] != "ns" {
		return Workload{}, fmt.Errorf("%q: %w", id, ErrNotWorkloadID)
	}
	w := Workload{TrustDomain: id.TrustDomain(), Namespace: segs[1], AppID: segs[2]}
	if err := ValidateNamespace(w.Namespace); err != nil {
		return Workload{}, fmt.Errorf("%q: %w", id, err)
	}
	if err := ValidateAppID(w.AppID); err != nil {
		return Workload{}, fmt.Errorf("%q: %w", id, err)
	}
	return w, nil
}

// ParseString parses a workload SPIFFE ID from its string form.
func ParseString(s string) (Workload, error) {
	id, err := spiffeid.FromString(s)
	if err != nil {
		return Workload{}, fmt.Errorf("%q: %w", s, err)
	}
	return Parse(id)
}

// ValidateAppID checks an app ID: a DNS-1123 label of at most 64 characters.
func ValidateAppID(appID string) error {
	if appID == "" {
		return ErrEmptyAppID
	}
	if err := ValidateName(appID); err != nil {
		return fmt.Errorf("app ID %q: %w", appID, err)
	}
	return nil
}

// ValidateNamespace checks a namespace: a DNS-1123 label of at most 64
// characters.
func ValidateNamespace(namespace string) error {
	if namespace == "" {
		return ErrEmptyNamespace
	}
	if err := ValidateName(namespace); err != nil {
		return fmt.Errorf("namespace %q: %w", namespace, err)
	}
	return nil
}

// ValidateName checks that name is a DNS-1123 label (lower-case letters,
// digits and '-', starting and ending with a letter or digit, so no dots)
// of at most MaxAppIDLength characters.
func ValidateName(name string) error {
	if len(name) > MaxAppIDLength {
		return fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidName, len(name), MaxAppIDLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(name)-1:
		case c == '.':
			return fmt.Errorf("%w: contains a dot", ErrInvalidName)
		default:
			return fmt.Errorf("%w: character %q at %d; use lower-case letters, digits and inner '-'", ErrInvalidName, c, i)
		}
	}
	return nil
}
