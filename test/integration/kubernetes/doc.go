// Package kubernetes runs the real sentry binary in Kubernetes mode against
// a real kube-apiserver (envtest), as the dapr-sentry ServiceAccount with
// exactly the RBAC of config/rbac: the trust bundle Secret, concurrent
// replicas, refusal of broken bundles, hot reload of the issuer and of the
// daprsystem Configuration, and the Kubernetes token validator.
package kubernetes
