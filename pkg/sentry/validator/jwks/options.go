package jwks

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	DefaultMinRefreshInterval = 10 * time.Minute
	DefaultRequestTimeout     = 30 * time.Second
	DefaultAllowedClockSkew   = 5 * time.Minute
)

// Lower bounds of Options: anything shorter is a configuration mistake
// (a hammering refresh loop, a timeout no server can meet).
const (
	MinMinRefreshInterval = time.Second
	MinRequestTimeout     = time.Millisecond
)

// The keys of a tokenValidators[].options map, as in Dapr's Configuration.
const (
	OptionSource             = "source"
	OptionCACertificate      = "caCertificate"
	OptionMinRefreshInterval = "minRefreshInterval"
	OptionRequestTimeout     = "requestTimeout"
)

// ErrInvalidOptions wraps every error of OptionsFromMap and New about the
// configuration.
var ErrInvalidOptions = errors.New("invalid jwks validator options")

// Options configures New.
type Options struct {
	// SentryID is Sentry's own SPIFFE ID; a token's "aud" must contain it.
	// Required.
	SentryID spiffeid.ID
	// Source is where the key set comes from: an https:// or http:// URL
	// (http logs a warning), the path of a local file, or the JWKS JSON
	// itself, optionally base64-encoded (standard or URL alphabet, padding
	// optional). Required.
	Source string
	// CACertificate is the CA trusted for an https Source, as PEM or as the
	// path of a PEM file. Default: the system roots.
	CACertificate string
	// MinRefreshInterval is the time between two fetches of a URL Source.
	// At least MinMinRefreshInterval. Default DefaultMinRefreshInterval.
	MinRefreshInterval time.Duration
	// RequestTimeout bounds one fetch of a URL Source. At least
	// MinRequestTimeout. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// AllowedClockSkew is how far "exp", "nbf" and "iat" may be off.
	// Default DefaultAllowedClockSkew; negative is an error.
	AllowedClockSkew time.Duration
	// Clock tells the time for token validation. If it also implements
	// clock.WithTicker, it times the refreshes of a URL Source too
	// (otherwise the real clock does). Default clock.RealClock.
	Clock clock.PassiveClock
	// Logger receives fetch and reload events. Default zap.NewNop().
	Logger *zap.Logger
	// HTTPClient, if set, fetches a URL Source instead of a client built
	// from CACertificate and RequestTimeout (meant for tests).
	HTTPClient *http.Client
}

// withDefaults checks o and fills the defaults in.
func (o Options) withDefaults() (Options, error) {
	if o.SentryID.IsZero() {
		return o, fmt.Errorf("%w: the Sentry ID (token audience) is required", ErrInvalidOptions)
	}
	if strings.TrimSpace(o.Source) == "" {
		return o, fmt.Errorf("%w: %s is required", ErrInvalidOptions, OptionSource)
	}
	var err error
	if o.MinRefreshInterval, err = atLeast(OptionMinRefreshInterval, o.MinRefreshInterval, DefaultMinRefreshInterval, MinMinRefreshInterval); err != nil {
		return o, err
	}
	if o.RequestTimeout, err = atLeast(OptionRequestTimeout, o.RequestTimeout, DefaultRequestTimeout, MinRequestTimeout); err != nil {
		return o, err
	}
	switch {
	case o.AllowedClockSkew < 0:
		return o, fmt.Errorf("%w: allowed clock skew %s is negative", ErrInvalidOptions, o.AllowedClockSkew)
	case o.AllowedClockSkew == 0:
		o.AllowedClockSkew = DefaultAllowedClockSkew
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o, nil
}

// atLeast returns d, or def when d is zero, after checking d >= lowest.
func atLeast(key string, d, def, lowest time.Duration) (time.Duration, error) {
	if d == 0 {
		return def, nil
	}
	if d < lowest {
		return 0, fmt.Errorf("%w: %s %s is shorter than %s", ErrInvalidOptions, key, d, lowest)
	}
	return d, nil
}

// OptionsFromMap decodes the options of a Configuration's
// tokenValidators[] entry. Keys are matched case-insensitively; an unknown
// key is an error. Durations are Go duration strings ("90s", "10m") or
// integer seconds ("90"). SentryID, Clock, Logger and HTTPClient are left
// for the caller to set.
func OptionsFromMap(m map[string]string) (Options, error) {
	var o Options
	known := []string{OptionSource, OptionCACertificate, OptionMinRefreshInterval, OptionRequestTimeout}
	seen := map[string]string{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic errors
	for _, k := range keys {
		i := slices.IndexFunc(known, func(name string) bool { return strings.EqualFold(name, k) })
		if i < 0 {
			return Options{}, fmt.Errorf("%w: unknown option %q; supported: %s", ErrInvalidOptions, k, strings.Join(known, ", "))
		}
		name, v := known[i], m[k]
		if prev, dup := seen[name]; dup {
			return Options{}, fmt.Errorf("%w: options %q and %q both set %s", ErrInvalidOptions, prev, k, name)
		}
		seen[name] = k
		var err error
		switch name {
		case OptionSource:
			o.Source = v
		case OptionCACertificate:
			o.CACertificate = v
		case OptionMinRefreshInterval:
			o.MinRefreshInterval, err = parseDuration(k, v)
		case OptionRequestTimeout:
			o.RequestTimeout, err = parseDuration(k, v)
		}
		if err != nil {
			return Options{}, err
		}
	}
	return o, nil
}

// parseDuration reads a Go duration or a number of seconds. Empty is zero
// (the default).
func parseDuration(key, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if limit := int64(time.Duration(1<<63-1) / time.Second); secs > limit || secs < -limit {
			return 0, fmt.Errorf("%w: option %q: %s seconds is too long", ErrInvalidOptions, key, v)
		}
		d = time.Duration(secs) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, fmt.Errorf("%w: option %q: %q is neither a duration (like 90s or 10m) nor whole seconds", ErrInvalidOptions, key, v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%w: option %q: %s is negative", ErrInvalidOptions, key, d)
	}
	return d, nil
}
