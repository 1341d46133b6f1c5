package server

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
