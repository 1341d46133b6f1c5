// Package sentryproc runs the real sentry binary as a process
// for integration tests: free ports, readiness, logs, exit codes, and a
// gRPC client that verifies Sentry's SPIFFE ID against given anchors.
//
//	proc.Main(m, proc.Binary{Pkg: ".../cmd/sentry", Path: &bin}) // in TestMain
//	p := sentryproc.Start(t, bin, sentryproc.Options{Args: []string{"--issuer-credentials", dir}})
//	client := p.Client(t, anchorsPEM)
package sentryproc
