package ca

import (
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

// InjectorServiceName is the Service the sidecar injector's webhook is
// reached at; its certificate carries <name>.<namespace>.svc as a DNS SAN.
const InjectorServiceName = "dapr-sidecar-injector"

// DNSNamesFor is the policy that decides which identities get DNS SANs:
// only control-plane services in the control-plane namespace and trust
// domain, because the Kubernetes API server reaches their webhooks by
// Service DNS name. Every other workload gets none.
func DNSNamesFor(id spiffeid.ID, controlPlane spiffeid.TrustDomain, controlPlaneNamespace string) []string {
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
	}
	return nil
}
