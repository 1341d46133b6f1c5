package jwt

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"k8s.io/utils/clock"
)

// DefaultTTL is the longest lifetime of a token, Dapr's.
const DefaultTTL = 24 * time.Hour

// Errors callers branch on.
var (
	// ErrNoAudience means a request names no audience.
	ErrNoAudience = errors.New("no audience")
	// ErrNoSubject means a request names no subject.
	ErrNoSubject = errors.New("no subject")
	// ErrTooShort means the token would expire before it is valid (the cap
	// is in the past).
	ErrTooShort = errors.New("the token would already have expired")
)

// IssuerOptions configures NewIssuer.
type IssuerOptions struct {
	// Material signs the tokens until SetMaterial replaces it. Required.
	Material *Material
	// Issuer is the "iss" claim; empty leaves it out.
	Issuer string
	// TTL is the longest lifetime of a token. Default DefaultTTL.
	TTL time.Duration
	// Clock is the time source. Default: the real clock.
	Clock clock.PassiveClock
}

// Issuer signs JWT-SVIDs with the current material. It is safe for
// concurrent use.
type Issuer struct {
	issuer  string
	ttl     time.Duration
	clock   clock.PassiveClock
	current atomic.Pointer[Material]
}

// NewIssuer checks opts and returns an Issuer.
func NewIssuer(opts IssuerOptions) (*Issuer, error) {
	if opts.Material == nil || opts.Material.signer == nil {
		return nil, errors.New("jwt issuer: Material is required")
	}
	if opts.TTL < 0 {
		return nil, errors.New("jwt issuer: TTL must not be negative")
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	i := &Issuer{issuer: opts.Issuer, ttl: opts.TTL, clock: opts.Clock}
	i.current.Store(opts.Material)
	return i, nil
}

// SetMaterial makes later tokens be signed with m; nil is ignored.
func (i *Issuer) SetMaterial(m *Material) {
	if m != nil && m.signer != nil {
		i.current.Store(m)
	}
}

// Material returns the material in force.
func (i *Issuer) Material() *Material { return i.current.Load() }

// PublicJWKS returns the key set in force, to publish.
func (i *Issuer) PublicJWKS() []byte { return i.current.Load().PublicJWKS() }

// Algorithm returns the signing algorithm in force.
func (i *Issuer) Algorithm() string { return i.current.Load().Algorithm.String() }

// Request describes the tokens of one workload.
type Request struct {
	// Subject is the workload's SPIFFE ID, the "sub" claim. Required.
	Subject spiffeid.ID
	// Audiences are the "aud" values, in order, duplicates and empty ones
	// dropped. At least one is required.
	Audiences []string
	// NotAfter caps the expiry, typically at the X.509-SVID's NotAfter.
	// Zero: no cap but the TTL.
	NotAfter time.Time
	// ClockSkew backdates "nbf".
	ClockSkew time.Duration
}

// Tokens are the JWT-SVIDs of one request.
type Tokens struct {
	// JWT carries every audience.
	JWT string
	// PerAudience holds one token per audience, each with that single
	// audience.
	PerAudience map[string]string
	// Expiry is every token's "exp".
	Expiry time.Time
}

// Issue signs the tokens of req: "sub" the SPIFFE ID, "aud" the audiences,
// "iss" the issuer (if set), "iat" now, "nbf" now minus the clock skew,
// "exp" the sooner of now plus the TTL and req.NotAfter, a random "jti" and
// "use": "sig", as Dapr's tokens carry for Azure's workload identity.
func (i *Issuer) Issue(req Request) (*Tokens, error) {
	if req.Subject.IsZero() {
		return nil, ErrNoSubject
	}
	var auds []string
	for _, a := range req.Audiences {
		if a != "" && !slices.Contains(auds, a) {
			auds = append(auds, a)
		}
	}
	if len(auds) == 0 {
		return nil, ErrNoAudience
	}
	m := i.current.Load()
	now := i.clock.Now().Truncate(time.Second)
	exp := now.Add(i.ttl)
	if !req.NotAfter.IsZero() && req.NotAfter.Before(exp) {
		exp = req.NotAfter
	}
	if !exp.After(now) {
		return nil, fmt.Errorf("%w: it would expire at %s", ErrTooShort, exp.UTC().Format(time.RFC3339))
	}
	toks := &Tokens{PerAudience: make(map[string]string, len(auds)), Expiry: exp}
	var err error
	if toks.JWT, err = i.sign(m, req, auds, now, exp); err != nil {
		return nil, err
	}
	for _, a := range auds {
		if toks.PerAudience[a], err = i.sign(m, req, []string{a}, now, exp); err != nil {
			return nil, fmt.Errorf("audience %q: %w", a, err)
		}
	}
	return toks, nil
}

func (i *Issuer) sign(m *Material, req Request, auds []string, now, exp time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("generate jti: %w", err)
	}
	b := jwxjwt.NewBuilder().
		JwtID(hex.EncodeToString(jti)).
		Subject(req.Subject.String()).
		Audience(auds).
		IssuedAt(now).
		NotBefore(now.Add(-req.ClockSkew)).
		Expiration(exp).
		Claim("use", "sig")
	if i.issuer != "" {
		b = b.Issuer(i.issuer)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("build token: %w", err)
	}
	hdr := jws.NewHeaders()
	if m.KeyID != "" {
		if err := hdr.Set(jws.KeyIDKey, m.KeyID); err != nil {
			return "", fmt.Errorf("set kid: %w", err)
		}
	}
	signed, err := jwxjwt.Sign(tok, jwxjwt.WithKey(m.Algorithm, m.signer, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}
