package kubernetes

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

func TestValidate(t *testing.T) {
	app := func(ann map[string]string) *corev1.Pod { return newPod("shop", "orders-1", "orders", "uid-1", ann) }
	cp := func(ns, svc string, extra map[string]string) *corev1.Pod {
		ann := map[string]string{AnnotationControlPlane: svc}
		for k, v := range extra {
			ann[k] = v
		}
		return newPod(ns, "cp-0", "cp", "uid-cp", ann)
	}
	appUser := boundUser("shop", "orders", "orders-1", "uid-1")
	tests := map[string]struct {
		pod     *corev1.Pod
		configs []*unstructured.Unstructured
		status  *authnv1.TokenReviewStatus // default okStatus(user)
		user    authnv1.UserInfo           // default appUser
		req     validator.Request          // Token filled in
		want    string
		wantErr error
	}{
		"an app pod gets its app-id annotation in the public trust domain": {
			pod: app(map[string]string{AnnotationAppID: "orders"}),
			req: validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, want: "spiffe://public/ns/shop/orders",
		},
		"a pod without an app-id annotation is known by its name": {
			pod: app(nil), req: validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders-1"}, want: "spiffe://public/ns/shop/orders-1",
		},
		"the requested trust domain is ignored: the pod decides": {
			pod: app(map[string]string{AnnotationAppID: "orders"}),
			req: validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders", TrustDomain: "evil.org"}, want: "spiffe://public/ns/shop/orders",
		},
		"the Configuration named by dapr.io/config sets the trust domain": {
			pod:     app(map[string]string{AnnotationAppID: "orders", AnnotationConfig: "appcfg"}),
			configs: []*unstructured.Unstructured{newConfiguration("shop", "appcfg", "example.org")},
			req:     validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, want: "spiffe://example.org/ns/shop/orders",
		},
		"a Configuration of the same name in another namespace does not count": {
			pod:     app(map[string]string{AnnotationAppID: "orders", AnnotationConfig: "appcfg"}),
			configs: []*unstructured.Unstructured{newConfiguration("other", "appcfg", "example.org")},
			req:     validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, want: "spiffe://public/ns/shop/orders",
		},
		"a Configuration without a trust domain means public": {
			pod:     app(map[string]string{AnnotationAppID: "orders", AnnotationConfig: "appcfg"}),
			configs: []*unstructured.Unstructured{newConfiguration("shop", "appcfg", "")},
			req:     validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, want: "spiffe://public/ns/shop/orders",
		},
		"a Configuration with an invalid trust domain is refused": {
			pod:     app(map[string]string{AnnotationAppID: "orders", AnnotationConfig: "appcfg"}),
			configs: []*unstructured.Unstructured{newConfiguration("shop", "appcfg", "Not A Domain")},
			req:     validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrTrustDomain,
		},
		"another namespace than the token's is refused": {
			pod: app(map[string]string{AnnotationAppID: "orders"}),
			req: validator.Request{HasCSR: true, Namespace: "other", AppID: "orders"}, wantErr: ErrNamespaceMismatch,
		},
		"another app ID than the pod's is refused": {
			pod: app(map[string]string{AnnotationAppID: "orders"}),
			req: validator.Request{HasCSR: true, Namespace: "shop", AppID: "payments"}, wantErr: ErrAppIDMismatch,
		},
		"the pod name is not an alias of its app-id annotation": {
			pod: app(map[string]string{AnnotationAppID: "orders"}),
			req: validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders-1"}, wantErr: ErrAppIDMismatch,
		},
		"a pod running as another service account is refused": {
			pod:  app(map[string]string{AnnotationAppID: "orders"}),
			user: boundUser("shop", "intruder", "orders-1", "uid-1"),
			req:  validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrServiceAccountMismatch,
		},
		"a token bound to a missing pod is refused": {
			pod:  app(map[string]string{AnnotationAppID: "orders"}),
			user: boundUser("shop", "orders", "orders-2", "uid-2"),
			req:  validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrPodNotFound,
		},
		"a recreated pod of the same name does not inherit the token": {
			pod:  app(map[string]string{AnnotationAppID: "orders"}),
			user: boundUser("shop", "orders", "orders-1", "uid-old"),
			req:  validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrPodNotFound,
		},
		"a token bound to no pod is refused": {
			pod:  app(map[string]string{AnnotationAppID: "orders"}),
			user: authnv1.UserInfo{Username: "system:serviceaccount:shop:orders"},
			req:  validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrNotBoundToPod,
		},
		"a user that is not a service account is refused": {
			pod:  app(map[string]string{AnnotationAppID: "orders"}),
			user: authnv1.UserInfo{Username: "alice", Extra: appUser.Extra},
			req:  validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrInvalidToken,
		},
		"an unauthenticated token is refused": {
			pod:    app(map[string]string{AnnotationAppID: "orders"}),
			status: &authnv1.TokenReviewStatus{},
			req:    validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrInvalidToken,
		},
		"a review error is refused": {
			pod:    app(map[string]string{AnnotationAppID: "orders"}),
			status: &authnv1.TokenReviewStatus{Error: "token audiences are invalid"},
			req:    validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrInvalidToken,
		},
		"a review for none of Sentry's audiences is refused": {
			pod:    app(map[string]string{AnnotationAppID: "orders"}),
			status: &authnv1.TokenReviewStatus{Authenticated: true, User: appUser, Audiences: []string{"https://kubernetes.default.svc"}},
			req:    validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, wantErr: ErrInvalidToken,
		},
		"the legacy audience is accepted": {
			pod:    app(map[string]string{AnnotationAppID: "orders"}),
			status: &authnv1.TokenReviewStatus{Authenticated: true, User: appUser, Audiences: []string{LegacyAudience}},
			req:    validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"}, want: "spiffe://public/ns/shop/orders",
		},
		"a control-plane pod in the control-plane namespace gets dapr-<svc> in the control-plane trust domain": {
			pod:  cp("dapr-system", "operator", nil),
			user: boundUser("dapr-system", "cp", "cp-0", "uid-cp"),
			req:  validator.Request{HasCSR: true, Namespace: "dapr-system", AppID: "dapr-operator", TrustDomain: "cluster.local"},
			want: "spiffe://cluster.local/ns/dapr-system/dapr-operator",
		},
		"a control-plane pod outside the control-plane namespace is refused": {
			pod:  cp("shop", "operator", nil),
			user: boundUser("shop", "cp", "cp-0", "uid-cp"),
			req:  validator.Request{HasCSR: true, Namespace: "shop", AppID: "dapr-operator"}, wantErr: ErrControlPlane,
		},
		"an unknown control-plane service is refused": {
			pod:  cp("dapr-system", "dashboard", nil),
			user: boundUser("dapr-system", "cp", "cp-0", "uid-cp"),
			req:  validator.Request{HasCSR: true, Namespace: "dapr-system", AppID: "dapr-dashboard"}, wantErr: ErrControlPlane,
		},
		"a control-plane pod with an app-id annotation is refused": {
			pod:  cp("dapr-system", "sentry", map[string]string{AnnotationAppID: "dapr-sentry"}),
			user: boundUser("dapr-system", "cp", "cp-0", "uid-cp"),
			req:  validator.Request{HasCSR: true, Namespace: "dapr-system", AppID: "dapr-sentry"}, wantErr: ErrControlPlane,
		},
		"a control-plane pod cannot ask for an app's ID": {
			pod:  cp("dapr-system", "injector", nil),
			user: boundUser("dapr-system", "cp", "cp-0", "uid-cp"),
			req:  validator.Request{HasCSR: true, Namespace: "dapr-system", AppID: "cp-0"}, wantErr: ErrAppIDMismatch,
		},
		"a malformed app ID is refused before any review": {
			pod: app(nil), req: validator.Request{HasCSR: true, Namespace: "shop", AppID: "Orders.v1"}, wantErr: ErrInvalidRequest,
		},
		"an empty namespace is refused before any review": {
			pod: app(nil), req: validator.Request{AppID: "orders"}, wantErr: ErrInvalidRequest,
		},
		"a malformed trust domain is refused before any review": {
			pod: app(nil), req: validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders-1", TrustDomain: "a b"}, wantErr: ErrInvalidRequest,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := start(t, []*corev1.Pod{tc.pod}, tc.configs)
			token := fakeJWT(name, epoch.Add(time.Hour))
			user := tc.user
			if user.Username == "" {
				user = appUser
			}
			st := okStatus(user)
			if tc.status != nil {
				st = *tc.status
			}
			h.setStatus(token, st)
			tc.req.Token = token
			id, err := h.v.Validate(t.Context(), tc.req)
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, tc.wantErr)
				assert.NotContains(t, err.Error(), token, "errors never carry the token")
				msg := validator.PublicMessage(err)
				assert.NotContains(t, msg, token, "nor does the caller's message")
				assert.True(t, hasDaprPrefix(msg), "every refusal is worded as Dapr v1.18.3 words it: %q", msg)
				if errors.Is(err, ErrInvalidRequest) {
					assert.Zero(t, h.calls.Load(), "a malformed request costs no TokenReview")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, id.String())
		})
	}
}

// daprPrefixes start Dapr v1.18.3's Kubernetes validator's refusals and
// the common request rules' (the rest is the variable part).
var daprPrefixes = []string{
	"validator not ready", "invalid request: ", "token review failed: ", "invalid token: ", "authentication failed",
	"provided token is not a properly structured service account token",
	"kubernetes.io/pod/name claim is missing from Kubernetes token", "failed to get pod of identity",
	"namespace mismatch; received namespace: ", "pod service account mismatch", "control plane service in namespace '",
	"unknown control plane service '", "control plane service '", "app-id mismatch. expected: ",
	"failed to get configuration", "failed to parse trust domain", "trust domain characters are limited",
}

func hasDaprPrefix(msg string) bool {
	for _, p := range daprPrefixes {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func TestValidateWithoutToken(t *testing.T) {
	h := start(t, nil, nil)
	_, err := h.v.Validate(t.Context(), validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders"})
	assert.ErrorIs(t, err, ErrNoToken)
	assert.Zero(t, h.calls.Load())
}

func TestValidateBeforeStart(t *testing.T) {
	v, err := New(Options{Config: restConfig(), SentryID: sentryID})
	require.NoError(t, err)
	assert.False(t, v.Ready())
	_, err = v.Validate(t.Context(), validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders", Token: "t"})
	assert.ErrorIs(t, err, ErrNotReady)
	assert.Equal(t, "validator not ready", err.Error(), "Dapr's text")
}

func TestValidateAPIError(t *testing.T) {
	h := start(t, []*corev1.Pod{newPod("shop", "orders-1", "orders", "uid-1", nil)}, nil)
	h.setAPIError(errors.New("connection refused"))
	token := fakeJWT("t", epoch.Add(time.Hour))
	_, err := h.v.Validate(t.Context(), validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders-1", Token: token})
	require.ErrorIs(t, err, ErrTokenReview)
	assert.Equal(t, 1.0, counter(t, h.reg, MetricTokenReviews, ResultError))

	h.setAPIError(nil)
	h.setStatus(token, okStatus(boundUser("shop", "orders", "orders-1", "uid-1")))
	_, err = h.v.Validate(t.Context(), validator.Request{HasCSR: true, Namespace: "shop", AppID: "orders-1", Token: token})
	require.NoError(t, err, "a failed call is not cached")
	assert.Equal(t, 1.0, counter(t, h.reg, MetricTokenReviews, ResultAuthenticated))
}
