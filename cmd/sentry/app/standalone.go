//go:build standalone

package app

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
)

// The standalone build (go build -tags standalone) is sentry for
// self-hosted mode only: without client-go and the Kubernetes API types it
// is a third of the size, starts faster and uses less memory. Validate
// refuses --mode kubernetes, so newKubeParts is never reached.

// kubernetesBuilt reports that this build has no --mode kubernetes.
const kubernetesBuilt = false

func newKubeParts(context.Context, *Options, spiffeid.TrustDomain, prometheus.Registerer, *zap.Logger) (*kubeParts, error) {
	return nil, errors.New("sentry: the standalone build has no Kubernetes mode")
}
