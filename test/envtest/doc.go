// Package envtest starts a real kube-apiserver and etcd for tests, with
// controller-runtime's envtest and the binaries hack/envtest-assets.sh
// builds from the Go module proxy:
//
//	env := envtest.Start(t) // fails the test loudly when the binaries are missing
//	client := kubernetes.NewForConfigOrDie(env.Config)
//	// env.Kubeconfig is an admin kubeconfig file for kubectl and helm.
//
// The apiserver runs with RBAC on, so users made with env.User have only
// the rights a test grants them.
package envtest
