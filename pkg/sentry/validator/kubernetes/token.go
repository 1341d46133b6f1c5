package kubernetes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// MaxTokenSize is the largest token the validator sends to the apiserver;
// a larger one is refused without a TokenReview. A projected
// service-account token is about 1–1.5 KB; the largest a conformant
// cluster can issue (253-character pod, service account and node names,
// Sentry's SPIFFE ID with a 255-character trust domain as audience, a long
// issuer URL, an RS512 signature of a 4096-bit key) stays under 4 KB, so
// 16 KiB is four times that, while a hostile caller can no longer make
// Sentry forward megabytes to the apiserver per request.
const MaxTokenSize = 16 << 10

// Reasons a token is refused before any TokenReview: the values of the
// reason label of MetricReviewsSkipped for local refusals.
const (
	ReasonTooLarge      = "too_large"      // over MaxTokenSize
	ReasonMalformed     = "malformed"      // not a JWT with a JSON header (alg) and a JSON payload (exp, aud)
	ReasonExpired       = "expired"        // exp is past, beyond the allowed clock skew
	ReasonWrongAudience = "wrong_audience" // aud names none of Sentry's audiences
)

// tokenClaims are the claims of a token read before it is verified.
type tokenClaims struct {
	expiry time.Time
}

// localRefusal is a token refused without asking the apiserver.
type localRefusal struct {
	reason string // a Reason* constant
	err    error  // a Denial
}

// checkToken refuses a token that is too large, is not a JWT, has expired
// (allowing skew) or is not for one of audiences: checks on the unverified
// token that spare the apiserver obvious garbage. They prove nothing: the
// TokenReview still verifies whatever passes them. The refusals use
// Dapr's "invalid token: " wording and never echo the token.
func checkToken(token string, audiences []string, now time.Time, skew time.Duration) (tokenClaims, *localRefusal) {
	if len(token) > MaxTokenSize {
		return tokenClaims{}, &localRefusal{ReasonTooLarge, validator.Deny(
			fmt.Errorf("%w: the token has %d bytes, more than %d", ErrInvalidToken, len(token), MaxTokenSize),
			"invalid token: token is too large")}
	}
	exp, aud, err := parseToken(token)
	if err != nil {
		return tokenClaims{}, &localRefusal{ReasonMalformed, validator.Deny(
			fmt.Errorf("%w: not a well-formed JWT: %w", ErrInvalidToken, err), "invalid token: malformed token")}
	}
	if !now.Before(exp.Add(skew)) {
		return tokenClaims{}, &localRefusal{ReasonExpired, validator.Deny(
			fmt.Errorf("%w: the token expired at %s (clock skew allowed: %s)", ErrInvalidToken, exp.UTC().Format(time.RFC3339), skew),
			"invalid token: token has expired")}
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(audiences, a) }) {
		return tokenClaims{}, &localRefusal{ReasonWrongAudience, validator.Deny(
			fmt.Errorf("%w: the token's %d audiences do not include %q", ErrInvalidToken, len(aud), audiences),
			"invalid token: token audiences do not include Sentry's")}
	}
	return tokenClaims{expiry: exp}, nil
}

// parseToken reads the exp and aud claims of a compact JWS without
// verifying it: three base64url parts, a JSON header with an "alg", a JSON
// payload with a positive numeric "exp" and an "aud" that is a string or a
// list of strings.
func parseToken(token string) (time.Time, []string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, nil, fmt.Errorf("%d parts, not 3", len(parts))
	}
	if parts[2] == "" {
		return time.Time{}, nil, errors.New("no signature")
	}
	if _, err := decodeSegment(parts[2]); err != nil {
		return time.Time{}, nil, errors.New("signature: not base64url")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeJSONSegment(parts[0], &header); err != nil {
		return time.Time{}, nil, fmt.Errorf("header: %w", err)
	}
	if header.Alg == "" || strings.EqualFold(header.Alg, "none") {
		return time.Time{}, nil, errors.New("header: no signing algorithm")
	}
	var claims struct {
		Exp *float64        `json:"exp"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := decodeJSONSegment(parts[1], &claims); err != nil {
		return time.Time{}, nil, fmt.Errorf("payload: %w", err)
	}
	exp, ok := expiryOf(claims.Exp)
	if !ok {
		return time.Time{}, nil, errors.New("payload: no valid exp")
	}
	aud, err := audiencesOf(claims.Aud)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("payload: %w", err)
	}
	return exp, aud, nil
}

// decodeSegment decodes base64url, padded or not.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// decodeJSONSegment decodes a base64url JSON object into v.
func decodeJSONSegment(s string, v any) error {
	raw, err := decodeSegment(s)
	if err != nil {
		return errors.New("not base64url")
	}
	if !bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{")) {
		return errors.New("not a JSON object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return errors.New("not a valid JSON object")
	}
	return nil
}

// expiryOf converts a NumericDate, refusing absent, non-positive and
// absurdly distant ones.
func expiryOf(exp *float64) (time.Time, bool) {
	if exp == nil || *exp <= 0 || *exp > math.MaxInt32*4 {
		return time.Time{}, false
	}
	return time.Unix(int64(*exp), 0), true
}

// audiencesOf reads "aud": a string or a list of strings (RFC 7519 4.1.3).
func audiencesOf(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("no aud")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("aud is neither a string nor a list of strings")
	}
	return many, nil
}
