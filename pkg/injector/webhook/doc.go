// Package webhook is the sidecar injector's mutating admission handler.
//
// For each Pod CREATE it decides, in this order: is the object a Pod; does
// it opt in (dapr.io/enabled truthy); does it already have daprd (a no-op,
// so reinvocation is safe); may the requesting user get injected pods (the
// allowlist of controller service accounts and groups); are the annotations
// usable (sidecar.Inject); do the token Secrets it names exist with key
// "token". It then answers with a JSON patch computed from the typed pod
// before and after sidecar.Inject. Every "not injected" outcome is logged
// with its reason and counted in dapr_injector_sidecar_injection_failed_total.
//
// Usage:
//
//	h, err := webhook.New(webhook.Options{
//		Config:     func() sidecar.Config { return current },
//		Secrets:    secretReader,
//		Registerer: registry,
//		Logger:     logger,
//	})
//	mux.Handle("/mutate", &admission.Webhook{Handler: h})
//
// Benchmark (no tests run, only the benchmark):
//
//	go test ./pkg/injector/webhook -run XXX -bench BenchmarkHandler -benchtime 2000x
//
// It reports ns/op plus p50-µs and p99-µs per admission round trip through
// the HTTP handler, unpaced and paced at 100 pods/s; the target is a p99 of
// at most 2 ms at 100 pods/s.
package webhook
