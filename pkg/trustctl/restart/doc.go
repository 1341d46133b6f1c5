// Package restart asks Kubernetes to restart the Dapr control plane's
// workloads the way `kubectl rollout restart` does: it patches the
// annotation kubectl.kubernetes.io/restartedAt of the pod template, and the
// Deployment or StatefulSet controller replaces the pods.
//
//	results := restart.Restart(ctx, kube, "dapr-system", restart.ControlPlane, now)
//	for _, r := range results { if r.Err != nil { ... } }
//
// Unlike Dapr's CLI, no kubectl binary is needed, the scheduler is
// included, workloads that do not exist are skipped and reported as such,
// and every error is returned. It does not wait for the rollouts; follow
// them with `kubectl rollout status`. It needs get and patch on the
// deployments and statefulsets (apps group) of the namespace.
package restart
