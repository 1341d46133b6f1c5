package security

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Environment variables read by OptionsFromEnv. The DAPR_* names and
// NAMESPACE are the ones Dapr's injector and CLI set for daprd.
const (
	// EnvTrustAnchors holds the trust anchors as PEM.
	EnvTrustAnchors = "DAPR_TRUST_ANCHORS"
	// EnvTrustAnchorsFile names a PEM file of trust anchors.
	EnvTrustAnchorsFile = "DAPR_TRUST_ANCHORS_FILE"
	// EnvNamespace is the workload's namespace.
	EnvNamespace = "NAMESPACE"
	// EnvAppID is the workload's app ID.
	EnvAppID = "APP_ID"
	// EnvSentryAddress is Sentry's address, host:port.
	EnvSentryAddress = "DAPR_SENTRY_ADDRESS"
	// EnvSentryAddressShort is read when EnvSentryAddress is unset.
	EnvSentryAddressShort = "SENTRY_ADDRESS"
	// EnvSentryTokenFile names the file holding the identity token.
	EnvSentryTokenFile = "DAPR_SENTRY_TOKEN_FILE"
	// EnvSentryTokenValidator names the validator (trustplane's addition).
	EnvSentryTokenValidator = "DAPR_SENTRY_TOKEN_VALIDATOR"
	// EnvControlPlaneTrustDomain is the trust domain of Sentry's SPIFFE ID.
	EnvControlPlaneTrustDomain = "DAPR_CONTROLPLANE_TRUST_DOMAIN"
	// EnvControlPlaneNamespace is the namespace of Sentry's SPIFFE ID.
	EnvControlPlaneNamespace = "DAPR_CONTROLPLANE_NAMESPACE"
	// EnvSentryKeyType is the workload key type (trustplane's addition).
	EnvSentryKeyType = "DAPR_SENTRY_KEY_TYPE"
)

// Defaults of OptionsFromEnv.
const (
	// DefaultSentryAddress is where the Dapr CLI runs Sentry self-hosted.
	DefaultSentryAddress = "localhost:" + DefaultSentryPort
	// DefaultControlPlaneTrustDomain is Sentry's own --trust-domain default.
	DefaultControlPlaneTrustDomain = "localhost"
	// DefaultControlPlaneNamespace is Sentry's namespace when none is set.
	DefaultControlPlaneNamespace = "default"
)

// ErrMissingEnv is wrapped by OptionsFromEnv for a required variable that is
// unset or empty.
var ErrMissingEnv = errors.New("required environment variable is not set")

// OptionsFromEnv builds Options from a self-hosted sidecar's environment,
// read through lookup (os.Getenv in a main package):
//
//   - DAPR_TRUST_ANCHORS (PEM) or DAPR_TRUST_ANCHORS_FILE (a watched file):
//     exactly one is required.
//   - APP_ID and NAMESPACE: required.
//   - DAPR_SENTRY_ADDRESS, else SENTRY_ADDRESS: default "localhost:50001",
//     the address the Dapr CLI gives daprd; a bare host gets port 50001.
//   - DAPR_CONTROLPLANE_TRUST_DOMAIN (default "localhost", Sentry's own
//     --trust-domain default) and DAPR_CONTROLPLANE_NAMESPACE (default
//     "default") name Sentry's SPIFFE ID.
//   - DAPR_SENTRY_TOKEN_FILE: the token file. As in Dapr self-hosted, a
//     token file selects the JWKS validator; without one the validator is
//     UNKNOWN, Sentry's default.
//   - DAPR_SENTRY_TOKEN_VALIDATOR (trustplane's): unknown, insecure,
//     kubernetes or jwks, overriding the choice above.
//   - DAPR_SENTRY_KEY_TYPE (trustplane's): see ParseKeyType.
//
// Clock, Logger and DialOptions are left for the caller. Every problem
// found is reported, joined into one error.
func OptionsFromEnv(lookup func(string) string) (Options, error) {
	get := func(k string) string { return strings.TrimSpace(lookup(k)) }
	var errs []error
	opts := Options{
		TrustAnchorsFile: get(EnvTrustAnchorsFile),
		AppID:            get(EnvAppID),
		Namespace:        get(EnvNamespace),
		TokenFile:        get(EnvSentryTokenFile),
	}
	if pem := lookup(EnvTrustAnchors); strings.TrimSpace(pem) != "" {
		opts.TrustAnchors = []byte(pem)
	}
	switch {
	case opts.TrustAnchors == nil && opts.TrustAnchorsFile == "":
		errs = append(errs, fmt.Errorf("%w: %s or %s", ErrMissingEnv, EnvTrustAnchors, EnvTrustAnchorsFile))
	case opts.TrustAnchors != nil && opts.TrustAnchorsFile != "":
		errs = append(errs, fmt.Errorf("set only one of %s and %s", EnvTrustAnchors, EnvTrustAnchorsFile))
	case opts.TrustAnchors != nil:
		if _, err := parseAnchors(opts.TrustAnchors); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvTrustAnchors, err))
		}
	}
	if opts.AppID == "" {
		errs = append(errs, fmt.Errorf("%w: %s", ErrMissingEnv, EnvAppID))
	} else if err := spiffe.ValidateAppID(opts.AppID); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvAppID, err))
	}
	if opts.Namespace == "" {
		errs = append(errs, fmt.Errorf("%w: %s", ErrMissingEnv, EnvNamespace))
	} else if err := spiffe.ValidateNamespace(opts.Namespace); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvNamespace, err))
	}

	addr, err := sentryAddress(get(EnvSentryAddress), get(EnvSentryAddressShort))
	if err != nil {
		errs = append(errs, err)
	}
	opts.SentryAddress = addr

	id, err := sentryIDFromEnv(get(EnvControlPlaneTrustDomain), get(EnvControlPlaneNamespace))
	if err != nil {
		errs = append(errs, err)
	}
	opts.SentryID = id

	if opts.TokenFile != "" {
		opts.TokenValidator = sentryv1.SignCertificateRequest_JWKS
	}
	if v := get(EnvSentryTokenValidator); v != "" {
		tv, ok := sentryv1.SignCertificateRequest_TokenValidator_value[strings.ToUpper(v)]
		if !ok {
			errs = append(errs, fmt.Errorf("%s %q: use unknown, insecure, kubernetes or jwks", EnvSentryTokenValidator, v))
		}
		opts.TokenValidator = sentryv1.SignCertificateRequest_TokenValidator(tv)
	}
	if opts.KeyType, err = ParseKeyType(get(EnvSentryKeyType)); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvSentryKeyType, err))
	}
	if err := errors.Join(errs...); err != nil {
		return Options{}, fmt.Errorf("options from environment: %w", err)
	}
	return opts, nil
}

// sentryAddress picks the first non-empty address and adds the default port
// to a bare host.
func sentryAddress(addrs ...string) (string, error) {
	addr := DefaultSentryAddress
	for _, a := range addrs {
		if a != "" {
			addr = a
			break
		}
	}
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr, nil
	}
	bad := fmt.Errorf("sentry address %q: want host:port", addr)
	if strings.ContainsAny(addr, "/ ") || strings.HasSuffix(addr, ":") {
		return "", bad
	}
	// A bare host, possibly a bracketed IPv6 address: add the port and
	// check that the result splits again.
	joined := net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), DefaultSentryPort)
	if _, _, err := net.SplitHostPort(joined); err != nil {
		return "", bad
	}
	return joined, nil
}

// sentryIDFromEnv builds Sentry's SPIFFE ID from the control plane's trust
// domain and namespace, with the self-hosted defaults.
func sentryIDFromEnv(td, ns string) (spiffeid.ID, error) {
	if td == "" {
		td = DefaultControlPlaneTrustDomain
	}
	if ns == "" {
		ns = DefaultControlPlaneNamespace
	}
	cpTD, err := spiffeid.TrustDomainFromString(td)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("%s %q: %w", EnvControlPlaneTrustDomain, td, err)
	}
	id, err := spiffe.SentryID(cpTD, ns)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("%s %q: %w", EnvControlPlaneNamespace, ns, err)
	}
	return id, nil
}
