package validator

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// ErrInvalidRequest means the requested identity is malformed (Dapr's
// common request rules).
var ErrInvalidRequest = errors.New("invalid request")

// Denial is a validator's refusal. Message is what the caller is told, as
// PermissionDenied: Dapr's wording for the same refusal (daprd logs it, so
// it is where users debug), with request-derived parts cut by log.Bound
// and never any token content. Cause, when set, holds the details for
// Sentry's own log and the sentinel errors callers branch on.
type Denial struct {
	Message string
	Cause   error
}

// Deny returns a Denial.
func Deny(cause error, message string) *Denial { return &Denial{Message: message, Cause: cause} }

// Error is the log text: the cause when there is one, else the message.
func (d *Denial) Error() string {
	if d.Cause != nil {
		return d.Cause.Error()
	}
	return d.Message
}

func (d *Denial) Unwrap() error { return d.Cause }

// PublicMessage is what the caller of SignCertificate is told for a
// validator's error: a Denial's message, else a generic refusal.
func PublicMessage(err error) string {
	var d *Denial
	if errors.As(err, &d) {
		return d.Message
	}
	return "permission denied"
}

// CheckRequest applies the rules Dapr applies to every request whatever its
// validator, with Dapr's messages: an app ID that is set, has no dots and
// is at most 64 characters, a CSR and a namespace (all of those reported
// at once, after "invalid request: "); then the requested trust domain,
// "public" when empty.
func CheckRequest(req Request) (spiffeid.TrustDomain, error) {
	var msgs []string
	switch {
	case req.AppID == "":
		msgs = append(msgs, "parameter app-id cannot be empty")
	case strings.Contains(req.AppID, "."):
		msgs = append(msgs, "parameter app-id cannot contain dots")
	}
	if len(req.AppID) > spiffe.MaxAppIDLength {
		msgs = append(msgs, "app ID must be 64 characters or less")
	}
	if !req.HasCSR {
		msgs = append(msgs, "CSR is required")
	}
	if req.Namespace == "" {
		msgs = append(msgs, "namespace is required")
	}
	if len(msgs) > 0 {
		msg := "invalid request: " + strings.Join(msgs, "\n")
		return spiffeid.TrustDomain{}, Deny(fmt.Errorf("%w: %s", ErrInvalidRequest, strings.Join(msgs, "; ")), msg)
	}
	if req.TrustDomain == "" {
		return spiffeid.RequireTrustDomainFromString(spiffe.DefaultTrustDomain), nil
	}
	td, err := spiffeid.TrustDomainFromString(req.TrustDomain)
	if err != nil {
		return spiffeid.TrustDomain{}, Deny(fmt.Errorf("%w: trust domain %q: %w", ErrInvalidRequest, log.Bound(req.TrustDomain), err), err.Error())
	}
	return td, nil
}

// WorkloadID is spiffe://<td>/ns/<namespace>/<app-id> under go-spiffe's
// rules for path segments (as Dapr builds it); a refusal uses the JWKS
// validator's wording in Dapr.
func WorkloadID(td spiffeid.TrustDomain, namespace, appID string) (spiffeid.ID, error) {
	id, err := spiffeid.FromSegments(td, "ns", namespace, appID)
	if err != nil {
		return spiffeid.ID{}, Deny(fmt.Errorf("%w: %w", ErrInvalidRequest, err), "failed to construct SPIFFE ID for requestor: "+err.Error())
	}
	return id, nil
}
