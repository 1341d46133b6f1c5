// Package annotations names the dapr.io/* pod annotations the sidecar
// injector reads and parses their values into typed settings.
//
// Every parser here takes input from pod authors, so each one is fuzzed and
// none panics. Booleans are "truthy" (ParseBool); every other parser returns
// an *Error naming the annotation, the offending value and the reason, which
// the webhook turns into an admission denial.
//
// Usage:
//
//	a := annotations.Of(pod.Annotations)
//	if !a.Bool(annotations.KeyEnabled, false) {
//		return // not a Dapr pod
//	}
//	port, err := a.Port(annotations.KeyGRPCPort, 50001)
//	if err != nil {
//		var aerr *annotations.Error
//		errors.As(err, &aerr) // aerr.Annotation == "dapr.io/grpc-port"
//	}
package annotations
