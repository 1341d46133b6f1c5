// Package validator defines how Sentry authenticates a SignCertificate
// caller: a Validator turns the identity a request asks for, plus the token
// that proves it, into the SPIFFE ID the caller may have.
//
// Implementations live in sub-packages (insecure, jwks, and in Kubernetes
// mode kubernetes). Their errors are for the log only: the server answers
// every validation failure with an opaque PermissionDenied.
package validator
