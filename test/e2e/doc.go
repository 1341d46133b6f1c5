// Package e2e tests the installed product: the Helm chart charts/trustplane
// rendered (helm lint, helm template with several value sets) and installed
// with helm into a real kube-apiserver (envtest), with the real sentry and
// injector binaries running as processes configured exactly as the chart's
// Deployments configure them.
//
// There is no kubelet: the test plays it. For each Deployment it creates the
// Pod from the installed pod template, materializes its volumes (ConfigMaps,
// Secrets, projected tokens bound to that Pod) in a directory, resolves its
// env (downward API), gives the process a kubeconfig with a token of the
// Pod's ServiceAccount (so it has exactly the chart's RBAC), and moves only
// listen ports and in-cluster addresses (Services) to 127.0.0.1. Flags,
// env and volumes come from the installed objects, so chart and test cannot
// drift.
//
//	make test-e2e   # builds helm and kubectl into the envtest cache if missing
package e2e
