// Package injectorproc builds the real injector binary and runs it as a
// process for integration tests: free ports, readiness, logs, metrics.
//
//	bin, cleanup, err := injectorproc.Build() // in TestMain
//	p := injectorproc.Start(t, bin, injectorproc.Options{Args: []string{"--kubeconfig", kc, ...}})
//	n := p.Counter(t, "dapr_injector_sidecar_injection_requests_total")
package injectorproc
