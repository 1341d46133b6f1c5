package jwks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// Errors of Validate that callers branch on. Each is wrapped with details
// for the log; none carries the token.
var (
	// ErrNoToken means the request carried no token.
	ErrNoToken = errors.New("the request does not contain a token")
	// ErrNotReady means no key set has been loaded yet.
	ErrNotReady = errors.New("jwks validator not ready")
	// ErrInvalidRequest means the requested identity is malformed.
	ErrInvalidRequest = validator.ErrInvalidRequest
	// ErrInvalidToken means the token does not prove the requested identity.
	ErrInvalidToken = errors.New("token validation failed")
)

// Validate returns the requested identity when the request's token proves
// it (see the package documentation). It never blocks.
func (v *Validator) Validate(_ context.Context, req validator.Request) (spiffeid.ID, error) {
	if req.Token == "" {
		return spiffeid.ID{}, validator.Deny(ErrNoToken, ErrNoToken.Error())
	}
	set := v.keys.Load()
	if set == nil {
		return spiffeid.ID{}, validator.Deny(ErrNotReady, ErrNotReady.Error())
	}
	td, err := validator.CheckRequest(req)
	if err != nil {
		return spiffeid.ID{}, err
	}
	id, err := validator.WorkloadID(td, req.Namespace, req.AppID)
	if err != nil {
		return spiffeid.ID{}, err
	}
	if err := v.verify(*set, []byte(req.Token), id); err != nil {
		// The caller learns which check failed, in jwx's words as Dapr's
		// callers do, never what the token holds.
		return spiffeid.ID{}, validator.Deny(fmt.Errorf("%w: %w", ErrInvalidToken, err), ErrInvalidToken.Error()+": "+publicReason(err))
	}
	return id, nil
}

// reason is a verify failure: public is safe to tell the caller (no token
// content), the error text is for the log.
type reason struct {
	public string
	err    error
}

func (r *reason) Error() string { return r.err.Error() }
func (r *reason) Unwrap() error { return r.err }

func fail(public string, err error) error { return &reason{public: public, err: err} }

func publicReason(err error) string {
	var r *reason
	if errors.As(err, &r) {
		return r.public
	}
	return "invalid token"
}

// verify checks the token's signature against set and its claims against
// the requested id, Sentry's ID and the clock.
func (v *Validator) verify(set jwk.Set, token []byte, id spiffeid.ID) error {
	msg, err := jws.Parse(token, jws.WithCompact())
	if err != nil {
		return fail("failed to parse token", fmt.Errorf("parse token: %w", err))
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return fail("token must have exactly one signature", fmt.Errorf("token has %d signatures, want 1", len(sigs)))
	}
	hdr := sigs[0].ProtectedHeaders()
	if alg := hdr.Algorithm(); alg == "" || alg == jwa.NoSignature {
		return fail("token is not signed", fmt.Errorf("unsigned token (alg %q)", alg))
	}
	// A token naming its key must be verified by that key; one naming none
	// may be verified by any key of the set.
	kid := hdr.KeyID()
	tok, err := jwt.Parse(token,
		jwt.WithKeySet(set,
			jws.WithRequireKid(kid != ""),
			jws.WithInferAlgorithmFromKey(true),
			jws.WithMultipleKeysPerKeyID(true)),
		jwt.WithValidate(false))
	if err != nil {
		const public = "could not verify message using any of the signatures or keys"
		if kid != "" {
			return fail(public, fmt.Errorf("verify signature (kid %q, alg %s): %w", log.Bound(kid), hdr.Algorithm(), err))
		}
		return fail(public, fmt.Errorf("verify signature (no kid, alg %s): %w", hdr.Algorithm(), err))
	}
	if err := v.checkTimes(tok); err != nil {
		return err
	}
	if sub := tok.Subject(); sub != id.String() {
		return fail(`"sub" not satisfied`, fmt.Errorf("subject %q is not the requested identity %q", log.Bound(sub), id))
	}
	if aud := tok.Audience(); !slices.Contains(aud, v.opts.SentryID.String()) {
		return fail(`"aud" not satisfied`, fmt.Errorf("audience of %d values does not contain Sentry's ID %q", len(aud), v.opts.SentryID))
	}
	return nil
}

// checkTimes requires "exp" and checks "exp", "nbf" and "iat" against the
// clock, give or take AllowedClockSkew.
func (v *Validator) checkTimes(tok jwt.Token) error {
	exp := tok.Expiration()
	if exp.IsZero() || exp.Unix() <= 0 {
		return fail(`"exp" not satisfied: required claim not found`, errors.New(`token has no "exp" claim`))
	}
	now := v.opts.Clock.Now()
	skew := v.opts.AllowedClockSkew
	err := jwt.Validate(tok, jwt.WithClock(jwt.ClockFunc(v.opts.Clock.Now)), jwt.WithAcceptableSkew(skew))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrTokenExpired()):
		return fail(`"exp" not satisfied`, fmt.Errorf("token expired at %s, now is %s (allowed skew %s): %w", stamp(exp), stamp(now), skew, err))
	case errors.Is(err, jwt.ErrTokenNotYetValid()):
		return fail(`"nbf" not satisfied`, fmt.Errorf("token not valid before %s, now is %s (allowed skew %s): %w", stamp(tok.NotBefore()), stamp(now), skew, err))
	case errors.Is(err, jwt.ErrInvalidIssuedAt()):
		return fail(`"iat" not satisfied`, fmt.Errorf("token issued in the future at %s, now is %s (allowed skew %s): %w", stamp(tok.IssuedAt()), stamp(now), skew, err))
	default:
		return fail("invalid claims", fmt.Errorf("validate claims: %w", err))
	}
}

// stamp formats t for the log.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
