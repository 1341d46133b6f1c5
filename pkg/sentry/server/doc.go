// Package server is Sentry's gRPC service, dapr.proto.sentry.v1.CA.
//
// SignCertificate runs in Dapr's order: pick the validator the request
// names, authenticate the caller with it, decode and verify the CSR, sign.
// The package holds no policy beyond that order: identities come from the
// validator, certificate contents from package ca, and every error becomes a
// gRPC status in one place (status.go). Authentication failures reach the
// caller as a bare PermissionDenied; the reason is logged.
package server
