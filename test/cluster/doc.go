// Package cluster prepares a real kube-apiserver (test/envtest) the way a
// trustplane installation sees it: the Configuration CRD, the control-plane
// namespace with the dapr-sentry and dapr-injector ServiceAccounts bound to
// exactly the RBAC of config/rbac (or dapr-sentry to exactly Dapr's, the
// DaprRBAC profile), kubeconfigs that authenticate as those accounts, and
// what the missing kubelet would do (pod-bound tokens).
//
//	c := cluster.New(t)                   // or cluster.New(t, cluster.Options{SentryRBAC: cluster.DaprRBAC})
//	kc := c.Kubeconfig(t, "dapr-sentry")  // run sentry with exactly its RBAC
//	token, pod := c.PodToken(t, "shop", "orders-sa", "orders-1", annotations, sentryID)
package cluster
