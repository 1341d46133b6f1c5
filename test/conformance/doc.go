// Package conformance proves drop-in compatibility with Dapr v1.18.3 using
// Dapr's own code as the oracle: Dapr's sentry binary and Dapr's workload
// security provider (pkg/security, in hack/tools/dapr's daprsvid driver),
// built from the Go module proxy by hack/dapr-assets.sh (`make
// dapr-tools`) into the user cache. A missing binary fails the tests, it
// never skips them.
//
// What is compared: SignCertificate's status code and message for every
// refusal Dapr distinguishes, the DNS SANs of control-plane certificates,
// the flags of Dapr's sentry, and that Dapr's own client gets, renews and
// uses an SVID from our Sentry for mutual TLS.
package conformance
