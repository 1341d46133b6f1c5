package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Defaults and bounds of the mTLS settings.
const (
	// DefaultWorkloadCertTTL is the workload certificate lifetime when
	// spec.mtls.workloadCertTTL is not set (Dapr's default).
	DefaultWorkloadCertTTL = 24 * time.Hour
	// DefaultAllowedClockSkew is the NotBefore backdating when
	// spec.mtls.allowedClockSkew is not set (Dapr's default).
	DefaultAllowedClockSkew = 15 * time.Minute
	// MinWorkloadCertTTL is the shortest accepted workload certificate
	// lifetime.
	MinWorkloadCertTTL = time.Second
	// MaxWorkloadCertTTL is the longest accepted workload certificate
	// lifetime: a year, the lifetime of a generated issuer.
	MaxWorkloadCertTTL = 365 * 24 * time.Hour
	// MaxAllowedClockSkew is the largest accepted backdating. A skew longer
	// than the TTL is allowed, as in Dapr (a 25s TTL with the default 15m
	// skew is a common test setting): trustplane's client counts renewal
	// from when it received the certificate, not from its NotBefore.
	MaxAllowedClockSkew = 24 * time.Hour
)

// ValidatorJWKS is the name of the only token validator that can be
// configured in spec.mtls.tokenValidators.
const ValidatorJWKS = "jwks"

// ErrInvalid is wrapped by every error about the content of a
// configuration (as opposed to, say, a file that cannot be read).
var ErrInvalid = errors.New("invalid configuration")

// Config is Sentry's view of spec.mtls, checked and with defaults filled
// in. A Config is shared between goroutines once published: treat its
// slices and maps as read-only.
type Config struct {
	// MTLSEnabled is spec.mtls.enabled (default true). Sentry does not
	// act on it; it is kept for the injector and for status output.
	MTLSEnabled bool
	// WorkloadCertTTL is the lifetime of issued workload certificates.
	WorkloadCertTTL time.Duration
	// AllowedClockSkew is how far NotBefore is backdated.
	AllowedClockSkew time.Duration
	// ControlPlaneTrustDomain is spec.mtls.controlPlaneTrustDomain; zero
	// when unset. Sentry's --trust-domain flag takes precedence, as in Dapr.
	ControlPlaneTrustDomain spiffeid.TrustDomain
	// TokenValidators are the configured validators, in file order.
	TokenValidators []TokenValidator
}

// TokenValidator is one configured token validator.
type TokenValidator struct {
	// Name is the validator's name; always ValidatorJWKS today.
	Name string
	// Options are the validator's options with every value as text:
	// numbers in decimal ("600", "1.5"), booleans as "true" or "false".
	// Nil when the entry has no options.
	Options map[string]string
}

// Default returns the Config of a Configuration without spec.mtls.
func Default() Config {
	return Config{
		MTLSEnabled:      true,
		WorkloadCertTTL:  DefaultWorkloadCertTTL,
		AllowedClockSkew: DefaultAllowedClockSkew,
	}
}

// Source gives the configuration in force.
type Source interface {
	// Current returns the configuration in force. It does not block and
	// is cheap enough to call on every request.
	Current() Config
}

// StaticSource is a Source whose configuration never changes, for tests
// and for running without a configuration file.
type StaticSource struct {
	cfg Config
}

var (
	_ Source = (*StaticSource)(nil)
	_ Source = (*FileWatcher)(nil)
)

// Static returns a StaticSource that always gives cfg.
func Static(cfg Config) *StaticSource {
	return &StaticSource{cfg: cfg}
}

// Current returns the configuration given to Static.
func (s *StaticSource) Current() Config { return s.cfg }

// Start blocks until ctx is done and returns nil; onChange is never
// called. It gives StaticSource the same shape as FileWatcher.
func (s *StaticSource) Start(ctx context.Context, _ func(Config)) error {
	<-ctx.Done()
	return nil
}

// FieldError is a problem with one field of a Configuration. It wraps
// ErrInvalid and the underlying cause, if any.
type FieldError struct {
	// Path is the field's path, such as "spec.mtls.workloadCertTTL";
	// empty for problems with the document as a whole.
	Path string
	// Err says what is wrong.
	Err error
}

// Error returns "<path>: <problem>".
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

// Unwrap returns ErrInvalid and the cause, so errors.Is works with both.
func (e *FieldError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// fieldErrors is several FieldErrors reported together, on one line.
type fieldErrors []error

func (es fieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (es fieldErrors) Unwrap() []error { return es }

// join returns nil, the only error, or all of them as one error.
func join(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return fieldErrors(errs)
}

func fieldErr(path, format string, args ...any) error {
	return &FieldError{Path: path, Err: fmt.Errorf(format, args...)}
}
