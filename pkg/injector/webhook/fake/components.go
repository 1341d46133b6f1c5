package fake

import (
	"context"
	"slices"
	"sync"

	"github.com/trustplane/trustplane/pkg/injector/sidecar"
)

// Components is an in-memory webhook.ComponentLister. The zero value holds
// no Components.
type Components struct {
	mu   sync.Mutex
	byNS map[string][]sidecar.DeclaredComponent
	// Err, when set, is returned by every ListComponents call.
	Err error
	// Calls counts ListComponents calls.
	Calls int
}

// NewComponents returns a lister holding declared in namespace.
func NewComponents(namespace string, declared ...sidecar.DeclaredComponent) *Components {
	return &Components{byNS: map[string][]sidecar.DeclaredComponent{namespace: slices.Clone(declared)}}
}

// ListComponents returns a copy of the namespace's Components.
func (c *Components) ListComponents(_ context.Context, namespace string) ([]sidecar.DeclaredComponent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Calls++
	if c.Err != nil {
		return nil, c.Err
	}
	return slices.Clone(c.byNS[namespace]), nil
}
