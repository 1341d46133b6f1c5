package validator

import (
	"context"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Name identifies a validator, as in Dapr's tokenValidators and the
// request's token_validator enum.
type Name string

// The validators trustplane knows.
const (
	Insecure   Name = "insecure"
	Kubernetes Name = "kubernetes"
	JWKS       Name = "jwks"
)

// Request is the identity a caller asks for, as decoded from the wire.
type Request struct {
	// AppID is the requested app ID (request field id).
	AppID string
	// Namespace is the requested namespace.
	Namespace string
	// TrustDomain is the requested trust domain; empty means "public".
	TrustDomain string
	// Token proves the identity; empty for Insecure. Never log it.
	Token string
	// HasCSR tells whether the request carries a CSR (Dapr's validators
	// refuse one without, before the CSR is parsed).
	HasCSR bool
}

// Validator authenticates a request.
type Validator interface {
	// Validate returns the SPIFFE ID the caller proved, or an error that
	// explains why it proved none: a *Denial whose Message the caller is
	// told (Dapr's wording), the rest for the log. It must not block longer
	// than ctx allows.
	Validate(ctx context.Context, req Request) (spiffeid.ID, error)
}

// Func adapts a function to a Validator.
type Func func(ctx context.Context, req Request) (spiffeid.ID, error)

// Validate calls f.
func (f Func) Validate(ctx context.Context, req Request) (spiffeid.ID, error) {
	return f(ctx, req)
}

var _ Validator = Func(nil)
