// Package injector tests the real injector binary through a real
// kube-apiserver (envtest): the real sentry binary in Kubernetes mode
// issues the injector's serving certificate, the API server calls the
// webhook registered from config/webhook/mutating.yaml, and both processes
// run with exactly the rights of config/rbac.
package injector
