// Package jwtrotation tests `trustctl mtls rotate-jwt-key` end to end: the
// real sentry binary in Kubernetes mode with --jwt-enabled against a real
// apiserver (envtest), trustctl run in-process, and tokens checked against
// the key set Sentry publishes in its ConfigMap.
package jwtrotation
