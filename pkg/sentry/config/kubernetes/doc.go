// Package kubernetes is Sentry's configuration source in Kubernetes mode:
// it reads spec.mtls of one Configuration object (configurations.dapr.io,
// "daprsystem" in Sentry's namespace by default), watches that object only,
// and hands each valid change to Sentry without a restart.
//
// Usage:
//
//	src, err := kubernetes.New(kubernetes.Options{
//		Config:    restConfig,
//		Namespace: "dapr-system",
//		Logger:    logger.Named("config"),
//		Recorder:  recorder, // optional: Warning Events on rejected edits
//	})
//	if err != nil { ... }
//	if err := src.Load(ctx); err != nil { ... } // blocking first read
//	go src.Start(ctx, func(c config.Config) { /* rebuild what depends on c */ })
//	ttl := src.Current().WorkloadCertTTL // lock-free, on every request
//
// The rules are config.FromSpec's, the same as for a self-hosted file. How
// the source behaves, and where it differs from Dapr's Sentry (which reads
// the object once and exits when it is missing or invalid):
//
//   - Missing at start: Load logs a warning and Current is config.Default();
//     the object is applied as soon as it is created. Dapr's Helm chart
//     creates daprsystem next to Sentry, so a missing object is usually an
//     ordering race, and the defaults are Dapr's own.
//   - Invalid at start: Load returns an error wrapping config.ErrInvalid
//     and naming the field, and records a Warning Event on the object.
//     There is no last good configuration to keep, and silently running
//     with defaults would hide, say, a shortened certificate lifetime.
//   - A valid edit replaces Current, is logged at info level and is handed
//     to onChange. An edit that changes nothing Sentry reads (another
//     section, a label) is ignored.
//   - An invalid edit (for example workloadCertTTL: "soon"; the CRD does not
//     check durations) keeps the last good configuration, is logged at
//     error level with the field path and the problem, and is recorded as a
//     Warning Event with reason ReasonInvalidConfiguration on the object,
//     visible in `kubectl describe configuration daprsystem`.
//   - Deleting the object keeps the configuration in force (logged as a
//     warning) until the object is created again.
//
// The watch is an informer on a list/watch with the field selector
// metadata.name=<Name>, so the API server sends only that object's events.
// Sentry needs get, list and watch on configurations.dapr.io in its
// namespace; the rule may be narrowed with resourceNames to the one
// object (Dapr's chart grants it, in the Role and the ClusterRole).
// Recording Events needs create and patch on events. A list or watch that
// keeps failing is one warning (naming the rule when it is forbidden), then
// debug lines while the informer retries.
package kubernetes
