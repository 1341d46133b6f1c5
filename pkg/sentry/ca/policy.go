package ca

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

// InjectorServiceName is the Service the sidecar injector's webhook is
// reached at; its certificate carries <name>.<namespace>.svc as a DNS SAN.
const InjectorServiceName = "dapr-sidecar-injector"

// SchedulerReplicas is how many dapr-scheduler-server StatefulSet pods get
// a DNS SAN in the scheduler's certificate, as Dapr's Sentry gives them:
// the scheduler's embedded etcd checks its peers by these names.
const SchedulerReplicas = 3

// DNSNamesFor is the policy that decides which identities get DNS SANs —
// Dapr's set: the injector and the operator, whose webhooks the Kubernetes
// API server reaches by Service DNS name, and the scheduler, whose etcd
// peers check each other's pod DNS names
// (dapr-scheduler-server-<i>.dapr-scheduler-server.<ns>.svc.<clusterDomain>).
// Only control-plane services in the control-plane namespace get them; we
// also require the control-plane trust domain (Dapr does not look at it,
// and its control plane always asks with it). Every other workload gets
// none.
func DNSNamesFor(id spiffeid.ID, controlPlane spiffeid.TrustDomain, controlPlaneNamespace, clusterDomain string) []string {
	if id.TrustDomain() != controlPlane {
		return nil
	}
	w, err := spiffe.Parse(id)
	if err != nil || w.Namespace != controlPlaneNamespace {
		return nil
	}
	switch w.AppID {
	case "dapr-injector":
		return []string{InjectorServiceName + "." + controlPlaneNamespace + ".svc"}
	case "dapr-operator":
		return []string{"dapr-webhook." + controlPlaneNamespace + ".svc"}
	case "dapr-scheduler":
		names := make([]string, SchedulerReplicas)
		for i := range names {
			names[i] = fmt.Sprintf("dapr-scheduler-server-%d.dapr-scheduler-server.%s.svc.%s", i, controlPlaneNamespace, clusterDomain)
		}
		return names
	}
	return nil
}
