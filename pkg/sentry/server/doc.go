// Package server is Sentry's gRPC service, dapr.proto.sentry.v1.CA.
//
// SignCertificate runs in Dapr's order: pick the validator the request
// names, authenticate the caller with it, decode and verify the CSR, sign.
// The package holds no policy beyond that order: identities come from the
// validator, certificate contents from package ca, and every error becomes a
// gRPC status in one place (status.go). Authentication failures reach the
// caller as a bare PermissionDenied; the reason is logged.
//
// Every caller is assumed hostile until its token is checked, so the
// server bounds what one can make it hold (Limits, docs/security.md): the
// request and header sizes, the connections (beyond MaxConnections they
// wait in the accept backlog; limitListener), the requests in flight
// (beyond MaxInFlight they are shed with ResourceExhausted before being
// read; admission), handshake, request, idle and age timeouts, and the
// refusal log lines (refusalLog). CSR keys must meet a key policy
// (checkKeyPolicy) and JWT audiences are bounded.
package server
