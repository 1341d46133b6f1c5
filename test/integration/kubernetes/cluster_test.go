package kubernetes

import (
	"context"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/trustplane/trustplane/test/cluster"
)

const sentryNS = cluster.ControlPlaneNamespace

// kcluster is a prepared apiserver with this package's helpers.
type kcluster struct{ *cluster.Cluster }

func newCluster(t *testing.T) *kcluster { return &kcluster{cluster.New(t)} }

func cctx(t *testing.T) context.Context { return cluster.Context(t) }

func mustID(s string) spiffeid.ID { return spiffeid.RequireFromString(s) }
