package server

import (
	"errors"
	"sync/atomic"

	"github.com/trustplane/trustplane/pkg/healthz"
)

// The injector's readiness checks, by name as /healthz and /readyz list
// the failing ones: Dapr's targets.
const (
	// checkSentryIdentity: the serving certificate (an X.509-SVID from
	// Sentry) is there.
	checkSentryIdentity = "sentry-identity"
	// checkWebhookServer: the webhook server completes a TLS handshake.
	checkWebhookServer = "webhook-server"
	// checkWebhookConfiguration: the caBundle matched the anchors once.
	checkWebhookConfiguration = "webhook-configuration"
)

// errNotStarted is a check's answer until its part exists.
var errNotStarted = errors.New("not started yet")

// readiness holds the injector's readiness checks, each failing with
// errNotStarted until Run sets it: the health server starts first (so
// /livez answers during start-up) and must not answer ready before every
// part is there.
type readiness struct {
	handler *healthz.Handler
	checks  map[string]*atomic.Pointer[healthz.Check]
}

func newReadiness() *readiness {
	r := &readiness{handler: healthz.New(), checks: map[string]*atomic.Pointer[healthz.Check]{}}
	for _, name := range []string{checkSentryIdentity, checkWebhookServer, checkWebhookConfiguration} {
		p := &atomic.Pointer[healthz.Check]{}
		r.checks[name] = p
		r.handler.AddReadyCheck(name, func() error {
			if c := p.Load(); c != nil {
				return (*c)()
			}
			return errNotStarted
		})
	}
	return r
}

// set makes c the check name runs.
func (r *readiness) set(name string, c healthz.Check) { r.checks[name].Store(&c) }
