package sentry

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/testca"
)

// restartSidecars is how many sidecars ask for their certificate at once
// in TestHostileLimitsLetAClusterRestartThrough.
const restartSidecars = 2000

// The limits against hostile callers must not refuse the load of a cluster
// restart: thousands of daprd asking at once, each on a new connection,
// with daprd's retries. With the default limits every one gets its
// certificate, and none is shed: connections beyond --max-connections
// wait in the accept backlog instead of being refused.
func TestHostileLimitsLetAClusterRestartThrough(t *testing.T) {
	p := startSentry(t, t.TempDir())
	anchors := p.anchorsPEM(t)
	csr := testca.CSR(t, testca.NewKey(t))
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		latencies []time.Duration
		failed    atomic.Int64
		retries   sync.Map
	)
	start := time.Now()
	for i := range restartSidecars {
		wg.Go(func() {
			req := &sentryv1.SignCertificateRequest{Id: "app-" + string(rune('a'+i%26)), Namespace: "ns", CertificateSigningRequest: csr}
			began := time.Now()
			_, err := signAsDaprd(t, p, anchors, req, func(c codes.Code) {
				n, _ := retries.LoadOrStore(c, &atomic.Int64{})
				n.(*atomic.Int64).Add(1)
			})
			if err != nil {
				failed.Add(1)
				t.Logf("sidecar %d: %v", i, err)
				return
			}
			mu.Lock()
			latencies = append(latencies, time.Since(began))
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	seen := map[string]int64{}
	retries.Range(func(k, v any) bool { seen[k.(codes.Code).String()] = v.(*atomic.Int64).Load(); return true })
	if len(latencies) > 0 {
		t.Logf("%d sidecars in %s: latency p50 %s, p99 %s, max %s; retried tries %v",
			restartSidecars, elapsed.Round(time.Millisecond), latencies[len(latencies)/2].Round(time.Millisecond),
			latencies[len(latencies)*99/100].Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond), seen)
	}
	assert.Zero(t, failed.Load(), "every sidecar gets its certificate")
	assert.Zero(t, seen[codes.ResourceExhausted.String()], "none is shed")
	assert.GreaterOrEqual(t, p.Counter(t, "dapr_sentry_cert_sign_success_total"), float64(restartSidecars), "tries daprd gave up on may be signed too")
	assert.Zero(t, p.Counter(t, "dapr_sentry_grpc_requests_shed_total"))
}
