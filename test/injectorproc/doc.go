// Package injectorproc runs the real injector binary as a
// process for integration tests: free ports, readiness, logs, metrics.
//
//	proc.Main(m, proc.Binary{Pkg: ".../cmd/injector", Path: &bin}) // in TestMain
//	p := injectorproc.Start(t, bin, injectorproc.Options{Args: []string{"--kubeconfig", kc, ...}})
//	n := p.Counter(t, "dapr_injector_sidecar_injection_requests_total")
package injectorproc
