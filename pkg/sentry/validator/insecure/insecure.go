package insecure

import (
	"context"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// ErrInvalidRequest wraps every error of Validate: the requested identity is
// not a well-formed workload identity.
var ErrInvalidRequest = validator.ErrInvalidRequest

// Validator grants the requested identity once its shape is checked. The
// zero value is ready to use.
type Validator struct{}

var _ validator.Validator = (*Validator)(nil)

// New returns an insecure Validator.
func New() *Validator { return &Validator{} }

// Validate returns spiffe://<trust-domain>/ns/<namespace>/<app-id> for the
// request after Dapr's common request rules (validator.CheckRequest). An
// empty trust domain means "public". The token, if any, is ignored.
// Validate never blocks.
func (*Validator) Validate(_ context.Context, req validator.Request) (spiffeid.ID, error) {
	td, err := validator.CheckRequest(req)
	if err != nil {
		return spiffeid.ID{}, err
	}
	return validator.WorkloadID(td, req.Namespace, req.AppID)
}
