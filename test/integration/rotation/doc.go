// Package rotation is the end-to-end test of a zero-downtime root rotation
// against a real kube-apiserver: the real sentry binary runs as its
// ServiceAccount with config/rbac's rights, two workloads use pkg/security
// with the anchors file that the test copies from their namespace's
// ConfigMap dapr-trust-bundle (as the kubelet does for a mounted
// ConfigMap), and one keeps opening new mTLS connections to the other while
// `trustctl mtls rotate-root` runs its three phases. No handshake may fail.
//
//	go test -timeout 300s ./test/integration/rotation/
package rotation
