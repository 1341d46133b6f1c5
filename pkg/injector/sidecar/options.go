package sidecar

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
)

// AnnotationError reports a pod annotation whose value cannot be used. Inject
// returns it (wrapped or not, use errors.As) for every problem a pod author
// can fix; the webhook denies the pod with its message.
type AnnotationError = a.Error

// probeSettings are the tunables of one probe.
type probeSettings struct {
	delay, timeout, period, threshold int32
}

// podOptions is everything Inject reads from the pod's annotations.
type podOptions struct {
	appID, appProtocol, appProtocolEnv string
	appPort, grpcPort, internalPort    int32
	metricsPort                        int32
	metrics                            bool
	debugPort                          int32
	debug                              bool // run daprd under dlv
	image                              string
	env, secretEnv                     []corev1.EnvVar
	mounts                             []corev1.VolumeMount
	udsPath                            string          // where app containers see daprd's sockets; "" for none
	components                         map[string]bool // containers that are pluggable components
	componentsFolder                   string          // where they and daprd share sockets
	resources                          corev1.ResourceRequirements
	seccomp                            corev1.SeccompProfileType
	liveness, readiness                probeSettings
	gracefulShutdown                   int32
	listenAddresses                    string
	apiTokenSecret, appTokenSecret     string
	appTokenToApp                      bool
	logLevel                           string
	// flagsBefore and flagsAfter are the annotation-driven flags that go
	// before and after --enable-mtls (optionalFlags).
	flagsBefore, flagsAfter []string
	// config, channelAddress, placement and scheduler are the remaining
	// flag values; placement and scheduler are "" to omit the flag.
	config, channelAddress, placement, scheduler string
	disableInitEndpoints                         *string
}

// errs collects the first error of a series of reads.
type errs struct{ err error }

func (e *errs) port(m a.Map, key string, def int32) int32 {
	v, err := m.Port(key, def)
	e.keep(err)
	return v
}

func (e *errs) int32(m a.Map, key string, def, minimum int32) int32 {
	v, err := m.Int32(key, def, minimum)
	e.keep(err)
	return v
}

func (e *errs) keep(err error) {
	if e.err == nil {
		e.err = err
	}
}

// parseOptions reads the pod's annotations. name is the fallback app ID.
func parseOptions(m a.Map, name string, cfg Config) (*podOptions, error) {
	o := &podOptions{}
	var e errs
	var err error
	if o.appID, err = m.AppID(name); err != nil {
		return nil, err
	}
	o.appProtocol = strings.TrimSpace(m.String(a.KeyAppProtocol, DefaultAppProtocol))
	if p, ok := a.NormalizeProtocol(o.appProtocol, m.Bool(a.KeyAppSSL, false)); ok {
		o.appProtocolEnv = p
	} else {
		return nil, &AnnotationError{Annotation: a.KeyAppProtocol, Value: o.appProtocol,
			Reason: "unknown protocol; use http, https, grpc, grpcs or h2c"}
	}
	if _, ok := m.Get(a.KeyAppPort); ok {
		o.appPort = e.port(m, a.KeyAppPort, 0)
	}
	o.grpcPort = e.port(m, a.KeyGRPCPort, DefaultGRPCPort)
	o.internalPort = e.port(m, a.KeyInternalGRPCPort, DefaultInternalPort)
	o.metricsPort = e.port(m, a.KeyMetricsPort, DefaultMetricsPort)
	o.metrics = m.Bool(a.KeyEnableMetrics, true)
	o.debug = m.Bool(a.KeyEnableDebug, false)
	o.debugPort = e.port(m, a.KeyDebugPort, DefaultDebugPort)
	o.liveness = probeSettings{
		delay:     e.int32(m, a.KeyLivenessDelaySeconds, 180, 0),
		timeout:   e.int32(m, a.KeyLivenessTimeoutSeconds, 3, 1),
		period:    e.int32(m, a.KeyLivenessPeriodSeconds, 10, 1),
		threshold: e.int32(m, a.KeyLivenessThreshold, 5, 1),
	}
	o.readiness = probeSettings{
		delay:     e.int32(m, a.KeyReadinessDelaySeconds, 1, 0),
		timeout:   e.int32(m, a.KeyReadinessTimeoutSeconds, 1, 1),
		period:    e.int32(m, a.KeyReadinessPeriodSeconds, 1, 1),
		threshold: e.int32(m, a.KeyReadinessThreshold, 5, 1),
	}
	if e.err != nil {
		return nil, e.err
	}
	if err := o.checkPortClash(); err != nil {
		return nil, err
	}
	o.image = strings.TrimSpace(m.String(a.KeySidecarImage, cfg.SidecarImage))
	if o.image == "" {
		if _, ok := m.Get(a.KeySidecarImage); ok {
			return nil, &AnnotationError{Annotation: a.KeySidecarImage, Reason: "image is empty"}
		}
		return nil, fmt.Errorf("%w: no sidecar image configured and no %s annotation", ErrConfig, a.KeySidecarImage)
	}
	if o.resources, err = parseResources(m, cfg.Resources); err != nil {
		return nil, err
	}
	if o.seccomp, err = parseSeccomp(m); err != nil {
		return nil, err
	}
	if o.env, err = m.Env(); err != nil {
		return nil, err
	}
	if o.secretEnv, err = m.EnvFromSecret(); err != nil {
		return nil, err
	}
	if err := checkReservedEnv(o.env, a.KeyEnv); err != nil {
		return nil, err
	}
	if err := checkReservedEnv(o.secretEnv, a.KeyEnvFromSecret); err != nil {
		return nil, err
	}
	if o.mounts, err = m.VolumeMounts(); err != nil {
		return nil, err
	}
	if o.udsPath, err = udsPath(m); err != nil {
		return nil, err
	}
	o.apiTokenSecret = strings.TrimSpace(m.String(a.KeyAPITokenSecret, ""))
	o.appTokenSecret = strings.TrimSpace(m.String(a.KeyAppTokenSecret, ""))
	o.appTokenToApp = m.Bool(a.KeyAppTokenToApp, false)
	if o.flagsBefore, o.flagsAfter, err = optionalFlags(m); err != nil {
		return nil, err
	}
	if o.logLevel, err = logLevel(m); err != nil {
		return nil, err
	}
	o.config = strings.TrimSpace(m.String(a.KeyConfig, ""))
	o.channelAddress = strings.TrimSpace(m.String(a.KeyAppChannelAddress, ""))
	o.placement = cfg.PlacementAddress
	if cfg.DisablePlacement {
		o.placement = ""
	}
	o.placement = m.Trimmed(a.KeyPlacementHostAddress, o.placement)
	o.scheduler = cfg.SchedulerAddress
	if cfg.DisableScheduler {
		o.scheduler = ""
	}
	o.scheduler = m.Trimmed(a.KeySchedulerHostAddress, o.scheduler)
	if v, ok := m.Get(a.KeyDisableInitEndpoints); ok {
		o.disableInitEndpoints = &v
	}
	o.gracefulShutdown = e.int32(m, a.KeyGracefulShutdownSeconds, -1, -1)
	o.listenAddresses = strings.TrimSpace(m.String(a.KeyListenAddresses, DefaultListenAddrs))
	return o, e.err
}

// checkPortClash rejects two sidecar ports with the same number, which the
// API server would refuse with a less helpful message.
func (o *podOptions) checkPortClash() error {
	used := map[int32]string{HTTPPort: "the fixed HTTP port", PublicPort: "the fixed public port"}
	for _, p := range []struct {
		key  string
		port int32
		on   bool
	}{
		{a.KeyGRPCPort, o.grpcPort, true},
		{a.KeyInternalGRPCPort, o.internalPort, true},
		{a.KeyMetricsPort, o.metricsPort, o.metrics},
		{a.KeyDebugPort, o.debugPort, o.debug},
	} {
		if !p.on {
			continue
		}
		if other, ok := used[p.port]; ok {
			return &AnnotationError{Annotation: p.key, Value: fmt.Sprint(p.port),
				Reason: "port is already used by " + other}
		}
		used[p.port] = p.key
	}
	return nil
}

// parseResources overlays the four resource annotations on def.
func parseResources(m a.Map, def corev1.ResourceRequirements) (corev1.ResourceRequirements, error) {
	out := *def.DeepCopy()
	set := func(list *corev1.ResourceList, name corev1.ResourceName, key string) error {
		q, err := m.Quantity(key)
		if err != nil || q == nil {
			return err
		}
		if *list == nil {
			*list = corev1.ResourceList{}
		}
		(*list)[name] = *q
		return nil
	}
	for _, s := range []struct {
		list *corev1.ResourceList
		name corev1.ResourceName
		key  string
	}{
		{&out.Requests, corev1.ResourceCPU, a.KeyCPURequest},
		{&out.Limits, corev1.ResourceCPU, a.KeyCPULimit},
		{&out.Requests, corev1.ResourceMemory, a.KeyMemoryRequest},
		{&out.Limits, corev1.ResourceMemory, a.KeyMemoryLimit},
	} {
		if err := set(s.list, s.name, s.key); err != nil {
			return out, err
		}
	}
	for name, key := range map[corev1.ResourceName]string{corev1.ResourceCPU: a.KeyCPURequest, corev1.ResourceMemory: a.KeyMemoryRequest} {
		req, hasReq := out.Requests[name]
		lim, hasLim := out.Limits[name]
		if hasReq && hasLim && req.Cmp(lim) > 0 {
			return out, &AnnotationError{Annotation: key, Value: m[key],
				Reason: fmt.Sprintf("%s request %s is above its limit %s", name, req.String(), lim.String())}
		}
	}
	return out, nil
}

// parseSeccomp reads the seccomp profile type; RuntimeDefault when absent.
func parseSeccomp(m a.Map) (corev1.SeccompProfileType, error) {
	v := strings.TrimSpace(m.String(a.KeySeccompProfileType, string(corev1.SeccompProfileTypeRuntimeDefault)))
	switch t := corev1.SeccompProfileType(v); t {
	case corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
		return t, nil
	}
	return "", &AnnotationError{Annotation: a.KeySeccompProfileType, Value: v,
		Reason: "use RuntimeDefault or Unconfined (Localhost needs a profile path the injector cannot take)"}
}

// reservedEnv reports whether daprd's env var name is one the injector sets
// itself.
func reservedEnv(name string) bool {
	switch name {
	case envNamespace, envPodName, envTrustAnchors, envCPNamespace, envCPTrustDomain, envEnvKeys, envAPIToken, envAppToken:
		return true
	}
	return false
}

// checkReservedEnv rejects user env vars that would shadow the injector's.
func checkReservedEnv(env []corev1.EnvVar, key string) error {
	for _, e := range env {
		if reservedEnv(e.Name) {
			return &AnnotationError{Annotation: key, Value: e.Name, Reason: "env var " + e.Name + " is set by the injector"}
		}
	}
	return nil
}

// udsPath reads dapr.io/unix-domain-socket-path: an absolute, clean path at
// which the app containers see daprd's sockets.
func udsPath(m a.Map) (string, error) {
	raw, ok := m.Get(a.KeyUnixDomainSocketPath)
	v := strings.TrimSpace(raw)
	if !ok || v == "" {
		return "", nil
	}
	if !cleanAbsolute(v) || v == "/" {
		return "", &AnnotationError{Annotation: a.KeyUnixDomainSocketPath, Value: raw,
			Reason: "must be an absolute, clean directory path in the app containers, for example /tmp/dapr-sockets"}
	}
	return v, nil
}
