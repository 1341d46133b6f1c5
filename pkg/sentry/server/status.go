package server

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/trustplane/trustplane/pkg/log"
)

// requestError is a failure with the status the caller gets and the metric
// reason it counts under. cause is for the log only.
type requestError struct {
	code   codes.Code
	msg    string // what the caller is told
	reason string // dapr_sentry_cert_sign_failure_total{reason}
	cause  error
}

func (e *requestError) Error() string {
	if e.cause == nil {
		return e.msg
	}
	return e.msg + ": " + e.cause.Error()
}

func (e *requestError) Unwrap() error { return e.cause }

func fail(code codes.Code, reason, msg string, cause error) error {
	return &requestError{code: code, msg: msg, reason: reason, cause: cause}
}

// toStatus is the one place an error becomes a gRPC status.
func toStatus(err error) error {
	var re *requestError
	if errors.As(err, &re) {
		return status.Error(re.code, re.msg)
	}
	return status.Error(codes.Internal, "internal error")
}

// overloaded is the status of a request shed for load. ResourceExhausted
// is what Dapr's client retries (with Unavailable).
func overloaded() error {
	return status.Error(codes.ResourceExhausted, "sentry is overloaded: too many requests in flight, retry")
}

// unimplemented is the status of a request for another method than
// SignCertificate, gRPC's for an unknown method.
func unimplemented(method string) error {
	return status.Error(codes.Unimplemented, "unknown method "+log.Bound(method))
}

// callerFault reports whether err refuses a request for what its caller
// sent (rather than for load, a deadline or a fault of Sentry's).
func callerFault(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.ResourceExhausted, codes.Unimplemented:
		return true
	}
	return false
}
