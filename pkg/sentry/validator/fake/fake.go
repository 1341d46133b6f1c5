package fake

import (
	"context"
	"slices"
	"sync"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// Validator answers every request the same way and records the requests.
// It is safe for concurrent use.
type Validator struct {
	id  spiffeid.ID
	err error

	mu       sync.Mutex
	requests []validator.Request
}

var _ validator.Validator = (*Validator)(nil)

// Granting returns a Validator that grants id to every request.
func Granting(id spiffeid.ID) *Validator { return &Validator{id: id} }

// Denying returns a Validator that fails every request with err.
func Denying(err error) *Validator { return &Validator{err: err} }

// Validate records req and returns the fixed answer. It never blocks.
func (v *Validator) Validate(_ context.Context, req validator.Request) (spiffeid.ID, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.requests = append(v.requests, req)
	if v.err != nil {
		return spiffeid.ID{}, v.err
	}
	return v.id, nil
}

// Requests returns a copy of the requests seen so far, in order.
func (v *Validator) Requests() []validator.Request {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.requests)
}
