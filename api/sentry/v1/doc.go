// Package sentryv1 holds the Go code generated from sentry.proto: the
// dapr.proto.sentry.v1.CA service, wire-identical to Dapr's Sentry API.
//
// Regenerate it with `make generate`; never edit the *.pb.go files.
package sentryv1
