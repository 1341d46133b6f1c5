package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	corev1 "k8s.io/api/core/v1"

	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// The pod annotations Validate reads.
const (
	AnnotationAppID        = "dapr.io/app-id"
	AnnotationControlPlane = "dapr.io/control-plane"
	AnnotationConfig       = "dapr.io/config"
)

// ControlPlaneServices are the values of AnnotationControlPlane; the pod of
// service s has the identity dapr-<s>.
var ControlPlaneServices = []string{"sentry", "injector", "operator", "placement", "scheduler"}

// Errors of Validate that callers branch on. Each is wrapped with details
// for the log; none carries the token.
var (
	// ErrNotReady means the pod and Configuration caches have not synced.
	ErrNotReady = errors.New("validator not ready")
	// ErrNoToken means the request carried no token.
	ErrNoToken = errors.New("the request does not contain a token")
	// ErrInvalidRequest means the requested identity is malformed.
	ErrInvalidRequest = validator.ErrInvalidRequest
	// ErrTokenReview means the TokenReview call itself failed.
	ErrTokenReview = errors.New("token review failed")
	// ErrInvalidToken means the apiserver did not authenticate the token
	// for Sentry's audience as a service account.
	ErrInvalidToken = errors.New("invalid token")
	// ErrNotBoundToPod means the token is not bound to a pod.
	ErrNotBoundToPod = errors.New("token is not bound to a pod")
	// ErrPodNotFound means the token's pod is not (or no longer) in the
	// cache: deleted, or recreated under the same name.
	ErrPodNotFound = errors.New("failed to get pod of identity")
	// ErrNamespaceMismatch means the request's namespace is not the
	// token's.
	ErrNamespaceMismatch = errors.New("namespace mismatch")
	// ErrServiceAccountMismatch means the pod runs as another service
	// account than the token's.
	ErrServiceAccountMismatch = errors.New("pod service account mismatch")
	// ErrControlPlane means a pod claims a control-plane identity it may
	// not have.
	ErrControlPlane = errors.New("invalid control plane pod")
	// ErrAppIDMismatch means the request's app ID is not the pod's.
	ErrAppIDMismatch = errors.New("app-id mismatch")
	// ErrTrustDomain means the pod's Configuration names an invalid trust
	// domain.
	ErrTrustDomain = errors.New("invalid trust domain")
)

// Validate returns spiffe://<td>/ns/<namespace>/<app-id> when the request's
// token is a service-account token for Sentry, bound to a live pod of that
// namespace whose identity is the requested app ID (see the package
// documentation). The requested trust domain is only checked for syntax:
// the pod decides it. Validate calls the apiserver at most once (not at all
// for a token that fails the local checks or that it has reviewed
// recently; concurrent requests with the same token share one call) and
// reads pods and Configurations from its caches.
func (v *Validator) Validate(ctx context.Context, req validator.Request) (spiffeid.ID, error) {
	if !v.Ready() {
		return spiffeid.ID{}, validator.Deny(ErrNotReady, ErrNotReady.Error())
	}
	if _, err := validator.CheckRequest(req); err != nil {
		return spiffeid.ID{}, err
	}
	if req.Token == "" {
		return spiffeid.ID{}, validator.Deny(ErrNoToken, ErrNoToken.Error())
	}
	id, err := v.review(ctx, req.Token)
	if err != nil {
		return spiffeid.ID{}, err
	}
	pod, err := v.pod(id)
	if err != nil {
		return spiffeid.ID{}, validator.Deny(err, ErrPodNotFound.Error())
	}
	if req.Namespace != id.namespace || pod.Namespace != id.namespace {
		return spiffeid.ID{}, validator.Deny(
			fmt.Errorf("%w: requested %q, the token's service account is in %q", ErrNamespaceMismatch, log.Bound(req.Namespace), id.namespace),
			"namespace mismatch; received namespace: "+log.Bound(req.Namespace))
	}
	if pod.Spec.ServiceAccountName != id.serviceAccount {
		return spiffeid.ID{}, validator.Deny(fmt.Errorf("%w: pod %s/%s runs as %q, the token is of %q",
			ErrServiceAccountMismatch, pod.Namespace, pod.Name, pod.Spec.ServiceAccountName, id.serviceAccount), ErrServiceAccountMismatch.Error())
	}
	td, appID, err := v.expected(pod)
	if err != nil {
		return spiffeid.ID{}, err
	}
	if req.AppID != appID {
		return spiffeid.ID{}, validator.Deny(fmt.Errorf("%w: expected %q, received %q", ErrAppIDMismatch, appID, log.Bound(req.AppID)),
			fmt.Sprintf("app-id mismatch. expected: %s, received: %s", appID, log.Bound(req.AppID)))
	}
	return validator.WorkloadID(td, pod.Namespace, appID)
}

// pod returns the cached pod the token is bound to, provided it is the very
// pod (same UID) and not a later one under the same name.
func (v *Validator) pod(id identity) (*corev1.Pod, error) {
	key := id.namespace + "/" + id.podName
	obj, exists, err := v.podInformer.GetIndexer().GetByKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrPodNotFound, key, err)
	}
	pod, ok := obj.(*corev1.Pod)
	if !exists || !ok {
		return nil, fmt.Errorf("%w: pod %s does not exist", ErrPodNotFound, key)
	}
	if pod.UID != id.podUID {
		return nil, fmt.Errorf("%w: pod %s has UID %s, the token is bound to UID %s (the pod was recreated)", ErrPodNotFound, key, pod.UID, id.podUID)
	}
	return pod, nil
}

// expected returns the trust domain and app ID pod may have.
func (v *Validator) expected(pod *corev1.Pod) (spiffeid.TrustDomain, string, error) {
	svc, isControlPlane := pod.Annotations[AnnotationControlPlane]
	if !isControlPlane {
		appID := pod.Annotations[AnnotationAppID]
		if appID == "" {
			appID = pod.Name
		}
		td, err := v.appTrustDomain(pod.Namespace, pod.Annotations[AnnotationConfig])
		switch {
		case errors.Is(err, ErrTrustDomain):
			return td, appID, validator.Deny(err, "failed to parse trust domain of the pod's configuration")
		case err != nil:
			return td, appID, validator.Deny(err, "failed to get configuration")
		}
		return td, appID, nil
	}
	switch {
	case pod.Namespace != v.opts.ControlPlaneNamespace:
		return spiffeid.TrustDomain{}, "", validator.Deny(fmt.Errorf("%w: control plane service in namespace %q is not allowed (only in %q)",
			ErrControlPlane, pod.Namespace, v.opts.ControlPlaneNamespace),
			fmt.Sprintf("control plane service in namespace '%s' is not allowed", pod.Namespace))
	case !slices.Contains(ControlPlaneServices, svc):
		return spiffeid.TrustDomain{}, "", validator.Deny(fmt.Errorf("%w: unknown control plane service %q of pod %q", ErrControlPlane, log.Bound(svc), pod.Name),
			fmt.Sprintf("unknown control plane service '%s'", pod.Name))
	}
	if _, ok := pod.Annotations[AnnotationAppID]; ok {
		return spiffeid.TrustDomain{}, "", validator.Deny(fmt.Errorf("%w: control plane pod %q cannot have annotation %q", ErrControlPlane, pod.Name, AnnotationAppID),
			fmt.Sprintf("control plane service '%s' cannot have annotation '%s'", pod.Name, AnnotationAppID))
	}
	return v.opts.ControlPlaneTrustDomain, "dapr-" + svc, nil
}
