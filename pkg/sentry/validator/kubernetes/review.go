package kubernetes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
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

// review authenticates token with a TokenReview, or from the cache of
// earlier successful ones.
func (v *Validator) review(ctx context.Context, token string) (identity, error) {
	key := keyOf(token)
	if id, ok := v.reviews.get(key, v.opts.Clock.Now()); ok {
		v.metrics.cacheHits.Inc()
		return id, nil
	}
	ctx, cancel := context.WithTimeout(ctx, v.opts.ReviewTimeout)
	defer cancel()
	res, err := v.client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{
		Spec: authnv1.TokenReviewSpec{Token: token, Audiences: v.audiences},
	}, metav1.CreateOptions{})
	if err != nil {
		v.metrics.reviews.WithLabelValues(ResultError).Inc()
		return identity{}, validator.Deny(fmt.Errorf("%w: %w", ErrTokenReview, err), "token review failed: "+log.Bound(err.Error()))
	}
	st := res.Status
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
	id, err := identityOf(st.User)
	if err != nil {
		return identity{}, err
	}
	if ttl := v.opts.ReviewCacheTTL; ttl > 0 {
		now := v.opts.Clock.Now()
		// The apiserver has verified the token, so its claims are genuine.
		if exp, ok := tokenExpiry(token); ok {
			ttl = min(ttl, exp.Sub(now))
			if ttl > 0 {
				v.reviews.put(key, id, now.Add(ttl))
			}
		}
	}
	return id, nil
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

// tokenExpiry reads the "exp" claim of a JWT without verifying it; call it
// only on a token the apiserver has authenticated.
func tokenExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	exp := *claims.Exp
	if exp <= 0 || exp > math.MaxInt32*4 || math.IsNaN(exp) {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0), true
}
