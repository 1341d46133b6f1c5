package app

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"
)

// clusterDomain is the cluster's DNS domain, which ends the scheduler's
// DNS SANs, found as Dapr's Sentry finds it: the CNAME of
// kubernetes.default.svc (for example kubernetes.default.svc.cluster.local.)
// less that name, within 2 s. When DNS cannot tell, it is the trust
// domain, as in Dapr.
func clusterDomain(ctx context.Context, lookupCNAME func(context.Context, string) (string, error), fallback string, logger *zap.Logger) string {
	const apiService = "kubernetes.default.svc"
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cname, err := lookupCNAME(ctx, apiService)
	if err == nil {
		if d, ok := strings.CutPrefix(strings.TrimSuffix(cname, "."), apiService+"."); ok && d != "" {
			return d
		}
	}
	logger.Warn("Cannot tell the Kubernetes cluster domain from DNS; the scheduler's DNS names use the trust domain",
		zap.String("cluster_domain", fallback), zap.String("cname", cname), zap.Error(err))
	return fallback
}
