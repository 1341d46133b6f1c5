package kubernetes

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// maxEventMessage bounds the message of a recorded Event; the API server
// refuses longer ones.
const maxEventMessage = 1000

// apply checks u and, when it is valid and differs from Current, makes it
// Current and returns it. It returns nil, nil when u was already seen or
// changes nothing Sentry reads, and the rejection when u is invalid.
// initial marks Load's read, which is logged even when it equals the
// defaults.
func (s *Source) apply(u *unstructured.Unstructured, initial bool) (*config.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rv := u.GetResourceVersion()
	if rv != "" && rv == s.lastRV {
		return nil, nil
	}
	s.lastRV = rv
	logger := s.logger.With(zap.String("resource_version", rv))

	cfg, err := decode(u)
	if err != nil {
		msg := "Rejected configuration change; keeping the last good configuration"
		if initial {
			msg = "Rejected configuration"
		}
		logger.Error(msg, zap.Error(err))
		s.warn(u, err)
		return nil, err
	}
	if !initial && reflect.DeepEqual(cfg, *s.current.Load()) {
		logger.Debug("Configuration changed but its mTLS settings did not")
		return nil, nil
	}
	s.current.Store(&cfg)
	msg := "Configuration reloaded"
	if initial {
		msg = "Configuration loaded"
	}
	logger.Info(msg,
		zap.Bool("mtls_enabled", cfg.MTLSEnabled),
		zap.Duration("workload_cert_ttl", cfg.WorkloadCertTTL),
		zap.Duration("allowed_clock_skew", cfg.AllowedClockSkew),
		zap.Strings("token_validators", validatorNames(cfg.TokenValidators)))
	return &cfg, nil
}

// warn records a Warning Event about err on the Configuration u.
func (s *Source) warn(u *unstructured.Unstructured, err error) {
	if s.opts.Recorder == nil {
		return
	}
	msg := "Rejected, keeping the last good configuration: " + err.Error()
	if len(msg) > maxEventMessage {
		cut := maxEventMessage - len("...")
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	s.opts.Recorder.Event(u, corev1.EventTypeWarning, ReasonInvalidConfiguration, msg)
}

// decode turns the object into a Configuration and checks its spec.mtls
// with config.FromSpec. Type mismatches (possible only under a CRD other
// than trustplane's, which types every field) name the field path.
func decode(u *unstructured.Unstructured) (config.Config, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return config.Config{}, &config.FieldError{Err: fmt.Errorf("encode object: %w", err)}
	}
	var c v1alpha1.Configuration
	if err := json.Unmarshal(data, &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return config.Config{}, &config.FieldError{Path: te.Field, Err: fmt.Errorf("must be a %s, got %s", te.Type, te.Value)}
		}
		return config.Config{}, &config.FieldError{Err: err}
	}
	return config.FromSpec(c.Spec.MTLSSpec)
}

func validatorNames(vs []config.TokenValidator) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return names
}
