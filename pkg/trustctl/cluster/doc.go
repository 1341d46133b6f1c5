// Package cluster is trustctl's view of a Dapr control plane in Kubernetes:
// it finds the install (the namespace of the "daprsystem" Configuration),
// reads its mTLS settings, reads the trust bundle Sentry keeps in the
// Secret dapr-trust-bundle, and writes a new bundle into that Secret and
// the ConfigMap of the same name, the way Sentry expects them.
//
//	c, err := cluster.New(cluster.Options{Kube: kube, Dynamic: dyn})
//	in, err := c.FindInstall(ctx, "") // "" lists daprsystem in all namespaces
//	tb, err := c.ReadBundle(ctx, in.Namespace)
//	if errors.Is(err, cluster.ErrNoBundle) { ... }
//	err = c.WriteBundle(ctx, tb, newBundle) // ErrConflict: someone changed it meanwhile
//
// # Layout and Sentry's adoption rule
//
// The layout is the one pkg/sentry/ca/store/kubernetes reads: the Secret
// keys ca.crt, issuer.crt and issuer.key — or the names the dapr-sentry
// Deployment passes in --issuer-ca-filename, --issuer-certificate-filename
// and --issuer-key-filename (the chart's global.issuerFilenames) — and the
// ConfigMap key ca.crt. A Secret another controller owns (a cert-manager
// Certificate's, an ExternalSecret's) is never written: WriteBundle fails
// with ErrExternallyOwned, naming the owner. The
// ConfigMap also carries the annotation trustplane.io/published-roots-sha256
// holding the SHA-256 (hex) of its ca.crt: WriteBundle sets it to the hash
// of the roots it writes, so Sentry sees a ConfigMap equal to the Secret's
// roots that it may follow from then on (it "adopts" it), instead of a
// user-written one it must leave alone.
//
// # Concurrency
//
// WriteBundle updates the Secret with the resourceVersion read by
// ReadBundle as a precondition: a change made in between (another trustctl,
// Helm, a user) fails with ErrConflict and nothing is written. The ConfigMap
// is written after the Secret; if Sentry republishes it first (it follows
// the Secret), WriteBundle reads it again and finishes.
//
// # RBAC
//
// trustctl needs list on configurations.dapr.io in all namespaces (or get in
// the install's namespace with --namespace), get on the Secret (not list,
// which Dapr's CLI needs), get on the ConfigMap, and for a renewal update
// (create when absent) on both; get on the dapr-sentry Deployment reads the
// key names (without it, Dapr's are assumed).
package cluster
