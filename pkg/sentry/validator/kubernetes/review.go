package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// LegacyAudience is the token audience of pre-1.12 Dapr sidecars, still
// accepted next to Sentry's SPIFFE ID.
const LegacyAudience = "dapr.io/sentry"

// The user-info extras the apiserver sets for a pod-bound token.
const (
	ExtraPodName = "authentication.kubernetes.io/pod-name"
	ExtraPodUID  = "authentication.kubernetes.io/pod-uid"
)

// serviceAccountPrefix starts the username of a service account.
const serviceAccountPrefix = "system:serviceaccount:"

// identity is what an authenticated token proves: a service account, and
// the pod it is bound to.
type identity struct {
	namespace      string
	serviceAccount string
	podName        string
	podUID         types.UID
}

// review authenticates token: refused at once when the local checks
// (checkToken) fail, else from the caches of earlier reviews, else with a
// TokenReview that concurrent requests for the same token share.
func (v *Validator) review(ctx context.Context, token string) (identity, error) {
	now := v.opts.Clock.Now()
	claims, refused := checkToken(token, v.audiences, now, v.opts.ClockSkew())
	if refused != nil {
		v.metrics.skipped.WithLabelValues(refused.reason).Inc()
		return identity{}, refused.err
	}
	key := keyOf(token)
	if res, ok := v.cached(key, now); ok {
		return res.id, res.err
	}
	res, shared, err := v.flights.do(ctx, key, func(ctx context.Context) reviewResult {
		// A review of the same token that ended after the lookup above
		// has filled a cache.
		if res, ok := v.cached(key, v.opts.Clock.Now()); ok {
			return res
		}
		return v.tokenReview(ctx, token, key, claims)
	})
	if err != nil { // the request ended while waiting
		return identity{}, validator.Deny(fmt.Errorf("%w: %w", ErrTokenReview, err), "token review failed: "+err.Error())
	}
	if shared {
		v.metrics.skipped.WithLabelValues(ReasonShared).Inc()
	}
	return res.id, res.err
}

// cached returns the outcome of an earlier review of the token of key.
func (v *Validator) cached(key reviewKey, now time.Time) (reviewResult, bool) {
	if id, ok := v.reviews.get(key, now); ok {
		v.metrics.cacheHits.Inc()
		return reviewResult{id: id}, true
	}
	if err, ok := v.rejections.get(key, now); ok {
		v.metrics.skipped.WithLabelValues(ReasonRejectionCached).Inc()
		return reviewResult{err: err}, true
	}
	return reviewResult{}, false
}

// tokenReview asks the apiserver about token and caches its verdict: an
// identity for ReviewCacheTTL (never past the token's expiry), a refusal
// for RejectionCacheTTL. A failed call is not cached: it says nothing
// about the token (the apiserver may be restarting, overloaded or
// unreachable).
func (v *Validator) tokenReview(ctx context.Context, token string, key reviewKey, claims tokenClaims) reviewResult {
	ctx, cancel := context.WithTimeout(ctx, v.opts.ReviewTimeout)
	defer cancel()
	res, err := v.client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{
		Spec: authnv1.TokenReviewSpec{Token: token, Audiences: v.audiences},
	}, metav1.CreateOptions{})
	if err != nil {
		v.metrics.reviews.WithLabelValues(ResultError).Inc()
		return reviewResult{err: validator.Deny(fmt.Errorf("%w: %w", ErrTokenReview, err), "token review failed: "+log.Bound(err.Error()))}
	}
	now := v.opts.Clock.Now()
	id, err := v.verdict(res.Status)
	if err != nil {
		if ttl := v.opts.RejectionCacheTTL; ttl > 0 {
			v.rejections.put(key, err, now.Add(ttl))
		}
		return reviewResult{err: err}
	}
	// The apiserver has verified the token, so its exp is genuine.
	if ttl := min(v.opts.ReviewCacheTTL, claims.expiry.Sub(now)); ttl > 0 {
		v.reviews.put(key, id, now.Add(ttl))
	}
	return reviewResult{id: id}
}

// verdict reads the identity an answered TokenReview proves, or why it
// proves none: a refusal that holds for the token whenever it is asked
// about again.
func (v *Validator) verdict(st authnv1.TokenReviewStatus) (identity, error) {
	switch {
	case st.Error != "":
		v.metrics.reviews.WithLabelValues(ResultRejected).Inc()
		return identity{}, validator.Deny(fmt.Errorf("%w: %s", ErrInvalidToken, log.Bound(st.Error)), "invalid token: "+log.Bound(st.Error))
	case !st.Authenticated:
		v.metrics.reviews.WithLabelValues(ResultRejected).Inc()
		return identity{}, validator.Deny(fmt.Errorf("%w: authentication failed", ErrInvalidToken), "authentication failed")
	}
	v.metrics.reviews.WithLabelValues(ResultAuthenticated).Inc()
	if !slices.ContainsFunc(st.Audiences, func(a string) bool { return slices.Contains(v.audiences, a) }) {
		return identity{}, validator.Deny(fmt.Errorf("%w: token audiences %q do not include %q", ErrInvalidToken, st.Audiences, v.audiences), "authentication failed")
	}
	return identityOf(st.User)
}

// identityOf reads the service account and the bound pod of an
// authenticated user.
func identityOf(u authnv1.UserInfo) (identity, error) {
	ns, sa, err := parseServiceAccount(u.Username)
	if err != nil {
		return identity{}, validator.Deny(err, "provided token is not a properly structured service account token")
	}
	name, uid, err := boundPod(u.Extra)
	if err != nil {
		return identity{}, validator.Deny(err, "kubernetes.io/pod/name claim is missing from Kubernetes token")
	}
	return identity{namespace: ns, serviceAccount: sa, podName: name, podUID: uid}, nil
}

// parseServiceAccount splits system:serviceaccount:<namespace>:<name>.
func parseServiceAccount(username string) (namespace, name string, err error) {
	rest, ok := strings.CutPrefix(username, serviceAccountPrefix)
	if ok {
		namespace, name, ok = strings.Cut(rest, ":")
	}
	if !ok || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", fmt.Errorf("%w: user %q is not a service account (%s<namespace>:<name>)", ErrInvalidToken, username, serviceAccountPrefix)
	}
	return namespace, name, nil
}

// boundPod reads the pod a token is bound to from the user's extras.
func boundPod(extra map[string]authnv1.ExtraValue) (string, types.UID, error) {
	name, err := single(extra, ExtraPodName)
	if err != nil {
		return "", "", err
	}
	uid, err := single(extra, ExtraPodUID)
	if err != nil {
		return "", "", err
	}
	return name, types.UID(uid), nil
}

// single returns the one non-empty value of extra[key].
func single(extra map[string]authnv1.ExtraValue, key string) (string, error) {
	vals := extra[key]
	switch {
	case len(vals) == 0:
		return "", fmt.Errorf("%w: no %s in the token review", ErrNotBoundToPod, key)
	case len(vals) > 1:
		return "", fmt.Errorf("%w: %d values of %s in the token review", ErrNotBoundToPod, len(vals), key)
	case vals[0] == "":
		return "", fmt.Errorf("%w: empty %s in the token review", ErrNotBoundToPod, key)
	}
	return vals[0], nil
}
