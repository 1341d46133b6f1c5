// Package trustctl runs the trustctl command line in-process (app.Main with
// a kubeconfig file and captured stdout and stderr) against a real
// kube-apiserver (envtest) with the Configuration CRD: mtls, expiry and its
// exit codes, export, and renew-certificate in its three modes, checking
// that what it writes is a bundle Sentry's Kubernetes store loads and a
// ConfigMap the store adopts without rewriting.
package trustctl
