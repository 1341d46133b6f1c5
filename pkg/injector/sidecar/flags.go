package sidecar

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
)

// flagKind says how an annotation's value becomes a daprd flag.
type flagKind int

const (
	flagString   flagKind = iota // --flag <value>, when the value is not empty
	flagBool                     // --flag, when truthy
	flagTriState                 // --flag=true|false, when present
	flagInt                      // --flag <n>, n >= 0
	flagDuration                 // --flag <Go duration>
	flagSize                     // --flag <quantity>, e.g. 4Mi
)

// flagSpec maps one annotation to one daprd flag.
type flagSpec struct {
	key, flag string
	kind      flagKind
}

// optionalFlagSpecs are the annotation-driven daprd flags, in Dapr's order
// (the mTLS flag sits between the two groups; see args).
func optionalFlagSpecs() (beforeMTLS, afterMTLS []flagSpec) {
	return []flagSpec{
			{a.KeySentryJWTAudiences, "--sentry-request-jwt-audiences", flagString},
			{a.KeyEnableAPILogging, "--enable-api-logging", flagTriState},
			{a.KeyDisableBuiltinK8sStore, "--disable-builtin-k8s-secret-store", flagBool},
			{a.KeyAppBindingOptsTimeout, "--app-binding-options-timeout", flagDuration},
			{a.KeyLogAsJSON, "--log-as-json", flagBool},
			{a.KeyEnableProfiling, "--enable-profiling", flagBool},
		}, []flagSpec{
			{a.KeyAppSSL, "--app-ssl", flagBool},
			{a.KeyAppMaxConcurrency, "--app-max-concurrency", flagInt},
			{a.KeyHTTPMaxRequestSize, "--dapr-http-max-request-size", flagInt},
			{a.KeyMaxBodySize, "--max-body-size", flagSize},
			{a.KeyHTTPReadBufferSize, "--dapr-http-read-buffer-size", flagInt},
			{a.KeyReadBufferSize, "--read-buffer-size", flagSize},
			{a.KeyBlockShutdownDuration, "--dapr-block-shutdown-duration", flagDuration},
			{a.KeyActorsDisseminateTO, "--actors-disseminate-timeout", flagDuration},
		}
}

// render appends the flag for s to args, or returns an *AnnotationError.
func (s flagSpec) render(m a.Map, args []string) ([]string, error) {
	raw, ok := m.Get(s.key)
	if !ok {
		return args, nil
	}
	v := strings.TrimSpace(raw)
	bad := func(reason string) error { return &AnnotationError{Annotation: s.key, Value: raw, Reason: reason} }
	switch s.kind {
	case flagString:
		if v != "" {
			args = append(args, s.flag, v)
		}
	case flagBool:
		if a.ParseBool(v) {
			args = append(args, s.flag)
		}
	case flagTriState:
		args = append(args, s.flag+"="+strconv.FormatBool(a.ParseBool(v)))
	case flagInt:
		n, err := a.ParseInt32(v, 0)
		if err != nil {
			return nil, bad(err.Error())
		}
		args = append(args, s.flag, strconv.Itoa(int(n)))
	case flagDuration:
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, bad("not a duration; use for example 30s or 2m")
		}
		args = append(args, s.flag, v)
	case flagSize:
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() < 0 {
			return nil, bad("not a size; use for example 4Mi")
		}
		args = append(args, s.flag, v)
	}
	return args, nil
}

// optionalFlags renders every annotation-driven flag, split where Dapr puts
// --enable-mtls. The app health flags follow the built-in secret store flag
// and --unix-domain-socket follows --read-buffer-size, as in Dapr.
func optionalFlags(m a.Map) (before, after []string, err error) {
	beforeSpecs, afterSpecs := optionalFlagSpecs()
	for _, s := range beforeSpecs {
		if before, err = s.render(m, before); err != nil {
			return nil, nil, err
		}
		if s.key == a.KeyDisableBuiltinK8sStore {
			health, err := appHealthFlags(m)
			if err != nil {
				return nil, nil, err
			}
			before = append(before, health...)
		}
	}
	for _, s := range afterSpecs {
		if after, err = s.render(m, after); err != nil {
			return nil, nil, err
		}
		if s.key == a.KeyReadBufferSize && strings.TrimSpace(m.String(a.KeyUnixDomainSocketPath, "")) != "" {
			after = append(after, "--unix-domain-socket", UDSMountPath)
		}
	}
	return before, after, nil
}

// logLevel validates dapr.io/log-level against the levels daprd accepts.
func logLevel(m a.Map) (string, error) {
	v := strings.TrimSpace(m.String(a.KeyLogLevel, DefaultLogLevel))
	switch v {
	case "debug", "info", "warn", "error", "fatal":
		return v, nil
	}
	return "", &AnnotationError{Annotation: a.KeyLogLevel, Value: v, Reason: "use debug, info, warn, error or fatal"}
}

// appHealthFlags renders the app health check flags when enabled.
func appHealthFlags(m a.Map) ([]string, error) {
	if !m.Bool(a.KeyEnableAppHealthCheck, false) {
		return nil, nil
	}
	var e errs
	path := strings.TrimSpace(m.String(a.KeyAppHealthCheckPath, "/healthz"))
	if !strings.HasPrefix(path, "/") {
		return nil, &AnnotationError{Annotation: a.KeyAppHealthCheckPath, Value: path, Reason: "must start with '/'"}
	}
	interval := e.int32(m, a.KeyAppHealthProbeInterval, 5, 1)
	timeout := e.int32(m, a.KeyAppHealthProbeTimeout, 500, 1)
	threshold := e.int32(m, a.KeyAppHealthThreshold, 3, 1)
	if e.err != nil {
		return nil, e.err
	}
	return []string{
		"--enable-app-health-check",
		"--app-health-check-path", path,
		"--app-health-probe-interval", fmt.Sprint(interval),
		"--app-health-probe-timeout", fmt.Sprint(timeout),
		"--app-health-threshold", fmt.Sprint(threshold),
	}, nil
}
