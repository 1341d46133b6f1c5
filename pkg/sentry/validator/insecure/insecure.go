package insecure

import (
	"context"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// ErrInvalidRequest wraps every error of Validate: the requested identity is
// not a well-formed workload identity. The cause (for example
// spiffe.ErrInvalidName) is wrapped too.
var ErrInvalidRequest = errors.New("invalid request")

// Validator grants the requested identity once its shape is checked. The
// zero value is ready to use.
type Validator struct{}

var _ validator.Validator = (*Validator)(nil)

// New returns an insecure Validator.
func New() *Validator { return &Validator{} }

// Validate returns spiffe://<trust-domain>/ns/<namespace>/<app-id> for the
// request. An empty trust domain means spiffe.DefaultTrustDomain. The token,
// if any, is ignored. Validate never blocks.
func (*Validator) Validate(_ context.Context, req validator.Request) (spiffeid.ID, error) {
	td, err := spiffe.TrustDomain(req.TrustDomain)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	id, err := spiffe.AppID(td, req.Namespace, req.AppID)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return id, nil
}
