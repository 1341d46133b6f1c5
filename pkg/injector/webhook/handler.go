package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	kjson "sigs.k8s.io/json"

	"github.com/prometheus/client_golang/prometheus"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	tlog "github.com/trustplane/trustplane/pkg/log"
)

// Options configures New.
type Options struct {
	// Config returns the sidecar settings; it is called once per admitted
	// Dapr pod because the trust anchors and the mTLS switch change at run
	// time. Required.
	Config func() sidecar.Config
	// Secrets reads the token Secrets named by dapr.io/api-token-secret and
	// dapr.io/app-token-secret; a cache-backed reader in production. Required.
	Secrets SecretReader
	// Components lists the Component resources of a pod's namespace for
	// dapr.io/inject-pluggable-components. Nil: pods asking for it are
	// denied.
	Components ComponentLister
	// WarnOnly admits a pod whose token Secret is missing or lacks key
	// "token", with an admission Warning, instead of denying it.
	WarnOnly bool
	// AllowedServiceAccounts are "namespace:name" glob pairs (path.Match
	// syntax on each side) of requesters whose pods get injected, in
	// addition to the built-in controllers.
	AllowedServiceAccounts []string
	// AllowedGroups are globs of requester groups whose pods get injected,
	// in addition to system:masters.
	AllowedGroups []string
	// Registerer receives the injector's metrics. Nil: not registered.
	Registerer prometheus.Registerer
	// Logger receives one line per decision. Nil: no logs.
	Logger *zap.Logger
	// Clock times admissions for MetricDuration. Default: the real clock.
	Clock clock.PassiveClock
}

// Handler is the sidecar injector's admission handler.
type Handler struct {
	config     func() sidecar.Config
	secrets    SecretReader
	components ComponentLister
	warnOnly   bool
	allow      *allowlist
	metrics    *metrics
	log        *zap.Logger
	clock      clock.PassiveClock
}

var _ admission.Handler = (*Handler)(nil)

// New validates opts and returns a Handler.
func New(opts Options) (*Handler, error) {
	if opts.Config == nil {
		return nil, errors.New("webhook: Options.Config is required")
	}
	if opts.Secrets == nil {
		return nil, errors.New("webhook: Options.Secrets is required")
	}
	al, err := newAllowlist(opts.AllowedServiceAccounts, opts.AllowedGroups)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Handler{
		config: opts.Config, secrets: opts.Secrets, components: opts.Components, warnOnly: opts.WarnOnly, clock: opts.Clock,
		allow: al, metrics: m, log: logger,
	}, nil
}

// Handle admits a Pod creation, with a sidecar patch when the pod opts in.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	h.metrics.requests.Inc()
	log := h.log.With(zap.String("uid", string(req.UID)), zap.String(tlog.KeyNamespace, req.Namespace))
	if req.Kind.Group != "" || req.Kind.Kind != "Pod" || req.SubResource != "" || req.Operation != admissionv1.Create {
		h.metrics.failed.WithLabelValues(ReasonNotPod).Inc()
		log.Debug("Not a Pod creation; nothing to inject", zap.String("kind", req.Kind.Kind), zap.String("operation", string(req.Operation)))
		return admission.Allowed("")
	}
	var pod corev1.Pod
	if err := decodePod(req.Object.Raw, &pod); err != nil {
		h.metrics.failed.WithLabelValues(ReasonDecode).Inc()
		log.Warn("Cannot decode the Pod in the admission request", zap.Error(err))
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decode pod: %w", err))
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	if !sidecar.Enabled(&pod) {
		return admission.Allowed("")
	}
	name := pod.Name
	if name == "" {
		name = pod.GenerateName + "*"
	}
	log = log.With(zap.String("pod", name), zap.String("user", req.UserInfo.Username))
	if sidecar.HasSidecar(&pod) {
		log.Debug("Pod already has a daprd container; nothing to inject")
		return admission.Allowed("")
	}
	if ok, why := h.allow.allows(req.UserInfo); !ok {
		h.metrics.failed.WithLabelValues(ReasonUnauthorized).Inc()
		log.Warn("Dapr sidecar not injected: requester not allowed", zap.String(tlog.KeyReason, why))
		resp := admission.Allowed("")
		resp.Warnings = []string{"dapr sidecar not injected: " + why}
		return resp
	}
	start := h.clock.Now()
	resp := h.inject(ctx, log, &pod)
	result := ResultInjected
	if !resp.Allowed {
		result = ResultDenied
	}
	h.metrics.duration.WithLabelValues(result).Observe(h.clock.Since(start).Seconds())
	return resp
}

// inject runs sidecar.InjectWith, checks the token Secrets and builds the
// patch.
func (h *Handler) inject(ctx context.Context, log *zap.Logger, pod *corev1.Pod) admission.Response {
	var declared []sidecar.DeclaredComponent
	if sidecar.InjectsComponents(pod) {
		if h.components == nil {
			return h.deny(log, ReasonComponents, a.KeyInjectPluggableComponents+": this injector is not set up to read Component resources")
		}
		var err error
		if declared, err = h.components.ListComponents(ctx, pod.Namespace); err != nil {
			log.Warn("Cannot list the Component resources of the pod's namespace", zap.Error(err))
			return h.deny(log, ReasonComponents, fmt.Sprintf("%s: cannot list the Component resources of namespace %s: %v",
				a.KeyInjectPluggableComponents, pod.Namespace, err))
		}
	}
	out, err := sidecar.InjectWith(pod, h.config(), declared)
	var aerr *sidecar.AnnotationError
	switch {
	case errors.As(err, &aerr):
		return h.deny(log, ReasonAnnotation, err.Error())
	case errors.Is(err, sidecar.ErrConfig):
		log.Error("Dapr sidecar not injected: the injector is misconfigured", zap.Error(err))
		return h.deny(log, ReasonConfig, "dapr sidecar injector is misconfigured: "+err.Error())
	case err != nil:
		return h.deny(log, ReasonPatch, "inject dapr sidecar: "+err.Error())
	case out == pod:
		return admission.Allowed("")
	}
	appID := out.Labels[a.LabelAppID]
	log = log.With(zap.String(tlog.KeyAppID, appID))

	var warnings []string
	secrets := sidecar.TokenSecrets(pod)
	for _, key := range []string{a.KeyAPITokenSecret, a.KeyAppTokenSecret} {
		name, ok := secrets[key]
		if !ok {
			continue
		}
		err := checkTokenSecret(ctx, h.secrets, key, pod.Namespace, name)
		var terr *tokenSecretError
		switch {
		case errors.As(err, &terr) && !h.warnOnly:
			return h.deny(log, ReasonTokenSecret, err.Error())
		case terr != nil:
			log.Warn("Token Secret problem; admitting the pod (warn-only)", zap.String(tlog.KeyReason, err.Error()))
			warnings = append(warnings, err.Error())
		case err != nil:
			log.Warn("Cannot verify a token Secret; admitting the pod", zap.Error(err))
			warnings = append(warnings, "could not verify "+key+" Secret "+name+": the sidecar will not start until it exists with key \"token\"")
		}
	}

	resp := patchResponse(pod, out)
	if !resp.Allowed {
		return h.deny(log, ReasonPatch, resp.Result.Message)
	}
	resp.Warnings = warnings
	h.metrics.succeeded.Inc()
	log.Info("Dapr sidecar injected")
	return resp
}

// decodePod decodes the request's Pod the way the API server does: field
// names are case-sensitive and unknown fields are ignored.
func decodePod(raw []byte, pod *corev1.Pod) error {
	if len(raw) == 0 {
		return errors.New("the request carries no object")
	}
	return kjson.UnmarshalCaseSensitivePreserveInts(raw, pod)
}

// deny answers with a denial, counts it and logs it.
func (h *Handler) deny(log *zap.Logger, reason, msg string) admission.Response {
	h.metrics.failed.WithLabelValues(reason).Inc()
	log.Info("Dapr pod denied", zap.String(tlog.KeyReason, reason), zap.String("message", msg))
	return admission.Denied(msg)
}

// patchResponse diffs the typed pod before and after injection. Both sides
// are marshalled from the same Go type, so fields this injector's API
// version does not know are never touched by the patch.
func patchResponse(before, after *corev1.Pod) admission.Response {
	orig, err := json.Marshal(before)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("marshal pod: %w", err))
	}
	cur, err := json.Marshal(after)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("marshal injected pod: %w", err))
	}
	resp := admission.PatchResponseFromRaw(orig, cur)
	sortPatch(resp.Patches)
	return resp
}
