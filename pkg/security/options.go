package security

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"k8s.io/utils/clock"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Defaults applied by New.
const (
	// DefaultRequestTimeout bounds one SignCertificate attempt, dial included.
	DefaultRequestTimeout = 15 * time.Second
	// DefaultSentryPort is the port of a Sentry address that names none.
	DefaultSentryPort = "50001"
)

// Errors callers branch on.
var (
	// ErrInvalidOptions wraps every problem New finds in Options.
	ErrInvalidOptions = errors.New("invalid options")
	// ErrNotReady is returned by GetX509SVID before the first SVID arrives.
	ErrNotReady = errors.New("no X.509-SVID yet")
	// ErrAlreadyStarted is returned by a second call to Start.
	ErrAlreadyStarted = errors.New("client already started")
	// ErrInvalidResponse wraps every problem found in Sentry's answer.
	ErrInvalidResponse = errors.New("invalid response from sentry")
	// ErrInvalidAnchors wraps every problem found in trust anchors.
	ErrInvalidAnchors = errors.New("invalid trust anchors")
)

// Options configures New. Exactly one of TrustAnchors and TrustAnchorsFile
// must be set.
type Options struct {
	// SentryAddress is Sentry's gRPC address, host:port. Required.
	SentryAddress string
	// SentryID is the SPIFFE ID Sentry's serving certificate must carry,
	// built with spiffe.SentryID. Required.
	SentryID spiffeid.ID
	// TrustAnchors is the PEM list of root certificates, fixed for the
	// life of the client (Dapr's DAPR_TRUST_ANCHORS).
	TrustAnchors []byte
	// TrustAnchorsFile is a PEM file of root certificates. It is watched and
	// reloaded in place, so anchors can change during a CA rotation.
	TrustAnchorsFile string
	// AppID is the requested app ID, sent as SignCertificateRequest.id.
	// Required.
	AppID string
	// Namespace is the requested namespace. Required.
	Namespace string
	// TrustDomain is the requested trust domain. Empty lets Sentry choose.
	TrustDomain string
	// TokenFile holds the identity token. It is read again for every request
	// because projected service-account tokens rotate. Empty sends no token.
	TokenFile string
	// TokenValidator names the validator Sentry should use. Default UNKNOWN
	// (Sentry's default for its environment).
	TokenValidator sentryv1.SignCertificateRequest_TokenValidator
	// Token, when set, chooses the token and the validator of every
	// request instead of TokenFile and TokenValidator (which must then be
	// unset), for example KubernetesToken.
	Token TokenSource
	// JWTAudiences are extra audiences for a JWT-SVID. Sent as is; the
	// returned JWTs are not used yet.
	JWTAudiences []string
	// KeyType is the type of the workload key. Default KeyTypeECDSAP256.
	KeyType KeyType
	// RequestTimeout bounds one SignCertificate attempt. Default
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Clock schedules renewals and retries. Default clock.RealClock.
	Clock clock.WithTicker
	// Rand returns uniform numbers in [0, 1) for the renewal and retry
	// jitter. Default math/rand/v2.Float64.
	Rand func() float64
	// Logger receives the client's logs. Default zap.NewNop().
	Logger *zap.Logger
	// DialOptions are added to the options of every connection to Sentry,
	// after the transport credentials. They must not set transport
	// credentials themselves: that would replace the check of Sentry's
	// SPIFFE ID.
	DialOptions []grpc.DialOption
}

// validate checks opts and fills in the defaults.
func (o *Options) validate() error {
	var errs []error
	if o.SentryAddress == "" {
		errs = append(errs, errors.New("sentry address is required"))
	} else if _, _, err := net.SplitHostPort(o.SentryAddress); err != nil {
		errs = append(errs, fmt.Errorf("sentry address %q: %w", o.SentryAddress, err))
	}
	switch {
	case o.SentryID.IsZero():
		errs = append(errs, errors.New("sentry SPIFFE ID is required"))
	case o.SentryID.Path() == "":
		errs = append(errs, fmt.Errorf("sentry SPIFFE ID %q has no path", o.SentryID))
	}
	switch {
	case len(o.TrustAnchors) == 0 && o.TrustAnchorsFile == "":
		errs = append(errs, errors.New("trust anchors are required: set TrustAnchors or TrustAnchorsFile"))
	case len(o.TrustAnchors) != 0 && o.TrustAnchorsFile != "":
		errs = append(errs, errors.New("set only one of TrustAnchors and TrustAnchorsFile"))
	}
	if err := spiffe.ValidateAppID(o.AppID); err != nil {
		errs = append(errs, err)
	}
	if err := spiffe.ValidateNamespace(o.Namespace); err != nil {
		errs = append(errs, err)
	}
	if o.TrustDomain != "" {
		if _, err := spiffeid.TrustDomainFromString(o.TrustDomain); err != nil {
			errs = append(errs, fmt.Errorf("trust domain %q: %w", o.TrustDomain, err))
		}
	}
	if _, ok := sentryv1.SignCertificateRequest_TokenValidator_name[int32(o.TokenValidator)]; !ok {
		errs = append(errs, fmt.Errorf("unknown token validator %d", o.TokenValidator))
	}
	if o.Token != nil && (o.TokenFile != "" || o.TokenValidator != sentryv1.SignCertificateRequest_UNKNOWN) {
		errs = append(errs, errors.New("set either Token or TokenFile and TokenValidator"))
	}
	if _, ok := keyTypeNames[o.KeyType]; !ok {
		errs = append(errs, fmt.Errorf("unknown key type %d", o.KeyType))
	}
	if o.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request timeout %s is negative", o.RequestTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}

	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return nil
}
