// Package config turns Dapr's Configuration resource (spec.mtls of
// apiVersion dapr.io/v1alpha1, kind Configuration) into Sentry's checked,
// defaulted Config, and follows a configuration file as it changes.
//
// Dapr's Sentry reads its Configuration once, at start-up; changing the
// workload certificate TTL, the clock skew or the token validators needs a
// restart. Here a FileWatcher reloads the file whenever it changes, keeps
// the last good Config when an edit is invalid (and logs which field is
// wrong and why), and hands the new Config to the next SignCertificate call
// through a lock-free Current.
//
// Usage:
//
//	w, err := config.NewFileWatcher(config.FileWatcherOptions{Path: "/etc/sentry/config.yaml", Logger: logger})
//	if err != nil { ... } // missing or invalid at start: refuse to start
//	go w.Start(ctx, func(c config.Config) { /* rebuild what depends on c */ })
//	ttl := w.Current().WorkloadCertTTL // on every request
//
// Parse and LoadFile read a whole document; FromSpec checks an MTLSSpec
// that was decoded elsewhere (for example by a Kubernetes watch of the
// "daprsystem" object), so both paths apply the same rules:
//
//   - workloadCertTTL: a Go duration, default 24h, from 1s to 8760h (a year);
//   - allowedClockSkew: a Go duration, default 15m, from 0 to 24h. It may
//     exceed workloadCertTTL, as in Dapr (a 25s TTL with the default skew
//     is a common test setting); trustplane's client counts renewal from
//     when it received a certificate, not from its backdated NotBefore;
//   - enabled: default true; controlPlaneTrustDomain: optional;
//   - tokenValidators: only "jwks" can be configured, at most once; the
//     built-in "kubernetes" and "insecure" validators cannot. Options
//     values may be strings, numbers or booleans and are turned into
//     strings; nested objects, arrays and nulls are rejected.
//
// Unknown fields under spec.mtls are errors (so a typo such as
// "workloadCertTtl" is not silently ignored); other sections of the
// Configuration (tracing, accessControl, ...) are Dapr runtime settings and
// are ignored. Every error names the field path, and wraps ErrInvalid.
package config
