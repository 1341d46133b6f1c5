// Package sentryproc builds the real sentry binary and runs it as a process
// for integration tests: free ports, readiness, logs, exit codes, and a
// gRPC client that verifies Sentry's SPIFFE ID against given anchors.
//
//	bin, cleanup, err := sentryproc.Build() // in TestMain
//	p := sentryproc.Start(t, bin, sentryproc.Options{Args: []string{"--issuer-credentials", dir}})
//	client := p.Client(t, anchorsPEM)
package sentryproc
