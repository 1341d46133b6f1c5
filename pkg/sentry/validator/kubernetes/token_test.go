package kubernetes

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// ordersPod is the pod the tokens of these tests are for.
func ordersPod() []*corev1.Pod {
	return []*corev1.Pod{newPod("shop", "orders-1", "orders", "uid-1", nil)}
}

func ordersRequest(token string) validator.Request {
	return validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders-1", Token: token}
}

func TestTokensRefusedWithoutReview(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	rs256 := `{"alg":"RS256"}`
	valid := map[string]any{"aud": []string{sentryID.String()}, "exp": epoch.Add(time.Hour).Unix()}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range valid {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	payload := b64(`{"aud":"dapr.io/sentry","exp":1900000000}`)
	tests := map[string]struct {
		token   string
		reason  string
		message string
	}{
		"a token over 16 KiB": {
			token: jwtOf(rs256, with("pad", strings.Repeat("x", MaxTokenSize))), reason: ReasonTooLarge, message: "invalid token: token is too large",
		},
		"a 3 MiB token": {token: strings.Repeat("A", 3<<20), reason: ReasonTooLarge, message: "invalid token: token is too large"},
		"a token that expired before the allowed clock skew": {
			token: jwtOf(rs256, with("exp", epoch.Add(-DefaultClockSkew).Unix())), reason: ReasonExpired, message: "invalid token: token has expired",
		},
		"a token for another audience": {
			token: jwtOf(rs256, with("aud", []string{"https://kubernetes.default.svc"})), reason: ReasonWrongAudience,
			message: "invalid token: token audiences do not include Sentry's",
		},
		"a token for no audience":       {token: jwtOf(rs256, with("aud", []string{})), reason: ReasonWrongAudience, message: "invalid token: token audiences do not include Sentry's"},
		"a token without aud":           {token: jwtOf(rs256, with("aud", nil)), reason: ReasonMalformed},
		"an aud that is a number":       {token: jwtOf(rs256, with("aud", 7)), reason: ReasonMalformed},
		"a token without exp":           {token: jwtOf(rs256, with("exp", nil)), reason: ReasonMalformed},
		"an exp that is a string":       {token: jwtOf(rs256, with("exp", "1900000000")), reason: ReasonMalformed},
		"a negative exp":                {token: jwtOf(rs256, with("exp", -1)), reason: ReasonMalformed},
		"a header without alg":          {token: jwtOf(`{"typ":"JWT"}`, valid), reason: ReasonMalformed},
		"the none algorithm":            {token: jwtOf(`{"alg":"none"}`, valid), reason: ReasonMalformed},
		"a header that is not JSON":     {token: b64("RS256") + "." + payload + ".c2ln", reason: ReasonMalformed},
		"a header that is not base64":   {token: "!!!." + payload + ".c2ln", reason: ReasonMalformed},
		"a payload that is not JSON":    {token: b64(rs256) + "." + b64("not json") + ".c2ln", reason: ReasonMalformed},
		"a payload that is a JSON list": {token: b64(rs256) + "." + b64(`["aud"]`) + ".c2ln", reason: ReasonMalformed},
		"two parts":                     {token: b64(rs256) + "." + payload, reason: ReasonMalformed},
		"four parts":                    {token: b64(rs256) + "." + payload + ".c2ln.c2ln", reason: ReasonMalformed},
		"an empty signature":            {token: b64(rs256) + "." + payload + ".", reason: ReasonMalformed},
		"a signature that is not base64": {
			token: b64(rs256) + "." + payload + ".!!!", reason: ReasonMalformed,
		},
		"not a JWT at all": {token: "hunter2", reason: ReasonMalformed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, ordersPod(), nil)
			h.setStatus(tc.token, okStatus(boundUser("shop", "orders", "orders-1", "uid-1"))) // were it asked
			_, err := h.v.Validate(t.Context(), ordersRequest(tc.token))
			require.ErrorIs(t, err, ErrInvalidToken)
			msg := validator.PublicMessage(err)
			if tc.message == "" {
				tc.message = "invalid token: malformed token"
			}
			assert.Equal(t, tc.message, msg)
			assert.True(t, hasDaprPrefix(msg))
			assert.Zero(t, h.calls.Load(), "no TokenReview")
			assert.Equal(t, 1.0, counter(t, h.reg, MetricReviewsSkipped, tc.reason))
			assert.Less(t, len(err.Error()), 300, "the log line is bounded: %s", err)
		})
	}
}

func TestTokensThatPassTheLocalChecksAreReviewed(t *testing.T) {
	tests := map[string]map[string]any{
		"aud as a single string (the legacy audience)": {"aud": LegacyAudience, "exp": epoch.Add(time.Hour).Unix()},
		"aud among others":                        {"aud": []string{"https://kubernetes.default.svc", sentryID.String()}, "exp": epoch.Add(time.Hour).Unix()},
		"exp past, within the allowed clock skew": {"aud": sentryID.String(), "exp": epoch.Add(-DefaultClockSkew + time.Second).Unix()},
		"exp as a fraction":                       {"aud": sentryID.String(), "exp": float64(epoch.Add(time.Hour).Unix()) + 0.5},
	}
	for name, claims := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, ordersPod(), nil)
			token := jwtOf(`{"alg":"ES256","kid":"k1"}`, claims)
			h.setStatus(token, okStatus(boundUser("shop", "orders", "orders-1", "uid-1")))
			_, err := h.v.Validate(t.Context(), ordersRequest(token))
			require.NoError(t, err)
			assert.EqualValues(t, 1, h.calls.Load())
		})
	}
}

func TestTheClockSkewIsReadOnEveryRequest(t *testing.T) {
	var skew atomic.Int64
	skew.Store(int64(5 * time.Minute))
	h := start(t, ordersPod(), nil, func(o *Options) { o.ClockSkew = func() time.Duration { return time.Duration(skew.Load()) } })
	token := jwtOf(`{"alg":"RS256"}`, map[string]any{"aud": sentryID.String(), "exp": epoch.Add(-10 * time.Minute).Unix()})
	h.setStatus(token, okStatus(boundUser("shop", "orders", "orders-1", "uid-1")))

	_, err := h.v.Validate(t.Context(), ordersRequest(token))
	assert.Equal(t, "invalid token: token has expired", validator.PublicMessage(err), "10 minutes late, 5 allowed")
	assert.Zero(t, h.calls.Load())

	skew.Store(int64(15 * time.Minute))
	_, err = h.v.Validate(t.Context(), ordersRequest(token))
	require.NoError(t, err, "10 minutes late, 15 allowed: the apiserver decides")
	assert.EqualValues(t, 1, h.calls.Load())
}

// garbage returns n distinct tokens, none of which passes the local
// checks: oversized, random text, JWTs that are expired, for another
// audience, without exp or with a broken header.
func garbage(n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		var tok string
		switch i % 6 {
		case 0:
			tok = fmt.Sprintf("%d%s", i, strings.Repeat("x", MaxTokenSize))
		case 1:
			tok = fmt.Sprintf("garbage-%d", i)
		case 2:
			tok = jwtOf(`{"alg":"RS256"}`, map[string]any{"aud": sentryID.String(), "exp": epoch.Add(-time.Duration(i+1) * time.Hour).Unix()})
		case 3:
			tok = jwtOf(`{"alg":"RS256"}`, map[string]any{"aud": fmt.Sprintf("https://api-%d.example", i), "exp": epoch.Add(time.Hour).Unix()})
		case 4:
			tok = jwtOf(`{"alg":"RS256"}`, map[string]any{"aud": sentryID.String(), "sub": i})
		default:
			tok = fmt.Sprintf("e30.%s.c2ln", base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"aud":%q,"exp":%d}`, sentryID, epoch.Unix()+int64(i)+60)))
		}
		out = append(out, tok)
	}
	return out
}

func TestThousandDistinctGarbageTokensCostNoTokenReview(t *testing.T) {
	h := start(t, ordersPod(), nil)
	tokens := garbage(1000)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for _, tok := range tokens {
		wg.Go(func() {
			if _, err := h.v.Validate(t.Context(), ordersRequest(tok)); err != nil {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1000, refused.Load())
	assert.Zero(t, h.calls.Load(), "0 TokenReviews for 1,000 distinct garbage tokens")
	var skipped float64
	for _, r := range []string{ReasonTooLarge, ReasonMalformed, ReasonExpired, ReasonWrongAudience} {
		skipped += counter(t, h.reg, MetricReviewsSkipped, r)
	}
	assert.Equal(t, 1000.0, skipped)
}
