package security

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"

	"go.uber.org/zap"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/log"
)

// The service-account tokens of Kubernetes mode, where Dapr's
// pkg/security/token looks for them.
const (
	// DefaultKubernetesTokenFile is the projected token whose audience is
	// Sentry's SPIFFE ID (the dapr-identity-token volume of Dapr's chart).
	DefaultKubernetesTokenFile = "/var/run/secrets/dapr.io/sentrytoken/token"
	// DefaultLegacyTokenFile is the pod's default service-account token,
	// mounted when automountServiceAccountToken is not false.
	DefaultLegacyTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
)

// Token is what one SignCertificate request authenticates with.
type Token struct {
	// Value is sent as the request's token; empty sends none.
	Value string
	// Validator is sent as the request's token_validator; UNKNOWN lets
	// Sentry use its default validator.
	Validator sentryv1.SignCertificateRequest_TokenValidator
}

// TokenSource returns the Token of one request. It is called before every
// request, because projected tokens rotate and may appear or go away.
type TokenSource func() (Token, error)

// tokenFrom names where a KubernetesToken came from, for its log lines.
type tokenFrom int

const (
	fromNothing tokenFrom = iota
	fromProjected
	fromLegacy
	fromNone
)

// KubernetesToken is Dapr's choice of token in Kubernetes mode (its
// pkg/security/token.GetSentryToken), made afresh for every request:
//
//   - the projected token in projected, for Sentry's Kubernetes validator;
//   - if that file does not exist, the legacy service-account token in
//     legacy (if set and not empty), for the same validator, with a
//     warning: it is a token the API server accepts too, which is why Dapr
//     discourages it;
//   - else no token and no validator named, so that Sentry decides with its
//     default validator: a self-hosted Sentry's is insecure (no token
//     needed), a Kubernetes Sentry refuses.
//
// A projected file that exists but cannot be read or is empty counts as no
// token, as in Dapr. Which of the three is used is logged when it changes.
// A nil logger logs nothing.
func KubernetesToken(projected, legacy string, logger *zap.Logger) TokenSource {
	if logger == nil {
		logger = zap.NewNop()
	}
	var mu sync.Mutex
	last := fromNothing
	report := func(from tokenFrom, file string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if from == last {
			return
		}
		last = from
		switch from {
		case fromProjected:
			logger.Info("Authenticating to Sentry with the projected service-account token", zap.String(log.KeyFile, file))
		case fromLegacy:
			logger.Warn("No projected Sentry token; authenticating to Sentry with the legacy service-account token, "+
				"which the Kubernetes API accepts too (discouraged: mount a projected token with Sentry's SPIFFE ID as audience)",
				zap.String("projected_token_file", projected), zap.String(log.KeyFile, file))
		case fromNone:
			logger.Warn("No service-account token; asking Sentry without a token and without naming a validator, so Sentry's default validator decides",
				zap.String("projected_token_file", projected), zap.String("legacy_token_file", legacy), zap.Error(err))
		}
	}
	return func() (Token, error) {
		b, err := os.ReadFile(projected)
		if t := strings.TrimSpace(string(b)); err == nil && t != "" {
			report(fromProjected, projected, nil)
			return Token{Value: t, Validator: sentryv1.SignCertificateRequest_KUBERNETES}, nil
		}
		if errors.Is(err, fs.ErrNotExist) && legacy != "" {
			lb, lerr := os.ReadFile(legacy)
			if t := strings.TrimSpace(string(lb)); lerr == nil && t != "" {
				report(fromLegacy, legacy, nil)
				return Token{Value: t, Validator: sentryv1.SignCertificateRequest_KUBERNETES}, nil
			}
		}
		if err == nil {
			err = errors.New(projected + " is empty")
		}
		report(fromNone, "", err)
		return Token{}, nil
	}
}
