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
// and every error is returned. Wait then follows the rollouts as
// `kubectl rollout status` does, and names what each unfinished one still
// waits for when its context ends:
//
//	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
//	err := restart.Wait(ctx, kube, "dapr-system", results, restart.WaitOptions{})
//
// DaprApps finds the workloads that run daprd in every namespace (pod
// template annotated dapr.io/enabled), for restarting applications after
// a new root; targets naming their own namespace are restarted there.
//
// It needs get and patch on the deployments and statefulsets (apps group)
// of the namespace, and for DaprApps list and patch on deployments,
// statefulsets and daemonsets in all namespaces.
package restart
