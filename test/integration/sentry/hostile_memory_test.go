package sentry

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/testca"
)

// Attack shape of TestHostileCallersCannotExhaustMemory.
const (
	attackers = 1000
	// muxConns connections of the attack send muxStreams requests at once
	// each; the others one at a time.
	muxConns       = 16
	muxStreams     = 16
	attackDuration = 10 * time.Second
	// maxRequest is the default request limit (--grpc-max-request-bytes).
	maxRequest = 32 << 10
)

// badRequests are refused requests of the largest size Sentry reads, and
// one just over it: an app ID, a CSR and a token that fill the request.
func badRequests(t *testing.T) []*sentryv1.SignCertificateRequest {
	csr := testca.CSR(t, testca.NewKey(t))
	fill := maxRequest - 1024
	return []*sentryv1.SignCertificateRequest{
		{Id: strings.Repeat("a", fill), Namespace: "shop", CertificateSigningRequest: csr},
		{Id: "orders", Namespace: "shop", CertificateSigningRequest: []byte(strings.Repeat("B", fill))},
		{Id: "orders", Namespace: "shop", Token: strings.Repeat("t", fill), CertificateSigningRequest: []byte("not a CSR")},
		{Id: "orders", Namespace: "shop", Token: strings.Repeat("t", maxRequest+1), CertificateSigningRequest: csr},
	}
}

// Issue #13: a thousand concurrent requests without a token, of the
// largest size Sentry reads (or just over it), most on a connection each
// and some multiplexed 16 to a connection, keep Sentry's RSS within twice
// its idle RSS, with the default limits; a workload signing as daprd does
// (a new connection per request, daprd's retries) keeps getting
// certificates meanwhile, and the log stays bounded. It runs the image's
// build, whose idle RSS the target was set against (the standalone
// build idles at half of it, nearly all binary pages, and grows by about
// as much: docs/security.md).
//
// The numbers are logged; to measure with other limits:
//
//	HOSTILE_ARGS="--max-connections 256" go test ./test/integration/sentry -run TestHostileCallersCannotExhaustMemory -v
func TestHostileCallersCannotExhaustMemory(t *testing.T) {
	p := startFullSentry(t, t.TempDir(), strings.Fields(os.Getenv("HOSTILE_ARGS"))...)
	anchors := p.anchorsPEM(t)
	pid := pidOf(t, p)
	csr := testca.CSR(t, testca.NewKey(t))
	valid := &sentryv1.SignCertificateRequest{Id: "orders", Namespace: "shop", CertificateSigningRequest: csr}
	_, err := signAsDaprd(t, p, anchors, valid, nil)
	require.NoError(t, err)
	time.Sleep(time.Second)
	idle := procStatusKiB(t, pid, "VmRSS")

	ctx, cancel := context.WithTimeout(t.Context(), attackDuration)
	defer cancel()
	var codesSeen sync.Map
	var wg sync.WaitGroup
	bad := badRequests(t)
	for i := range attackers - muxConns*muxStreams {
		wg.Go(func() { attack(ctx, t, p, anchors, bad[i%len(bad)], 1, &codesSeen) })
	}
	for i := range muxConns {
		wg.Go(func() { attack(ctx, t, p, anchors, bad[i%len(bad)], muxStreams, &codesSeen) })
	}
	var signed, failed atomic.Int64
	var slowest atomic.Int64
	wg.Go(func() {
		for ctx.Err() == nil {
			began := time.Now()
			if _, err := signAsDaprd(t, p, anchors, valid, nil); err == nil {
				signed.Add(1)
				slowest.Store(max(slowest.Load(), int64(time.Since(began))))
			} else if ctx.Err() == nil {
				failed.Add(1)
				t.Logf("valid request failed: %v", err)
			}
		}
	})
	idleAnon := procStatusKiB(t, pid, "RssAnon")
	peak, peakAnon := idle, idleAnon
	for ctx.Err() == nil {
		peak = max(peak, procStatusKiB(t, pid, "VmRSS"))
		peakAnon = max(peakAnon, procStatusKiB(t, pid, "RssAnon"))
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	hwm := procStatusKiB(t, pid, "VmHWM")
	shed := p.Counter(t, "dapr_sentry_grpc_requests_shed_total")
	refused := p.Counter(t, "dapr_sentry_cert_sign_failure_total")
	seen := map[string]int64{}
	codesSeen.Range(func(k, v any) bool { seen[k.(codes.Code).String()] = v.(*atomic.Int64).Load(); return true })
	logLines := strings.Count(p.Logs.String(), "Refused to sign certificate")
	t.Logf("RSS idle %d KiB, peak under attack %d KiB (%.2fx; anonymous %d → %d KiB), VmHWM %d KiB; "+
		"%d valid signs (slowest %s), %d failed; refused %v by the handler, %v shed; attackers saw %v; %d refusal log lines",
		idle, peak, float64(peak)/float64(idle), idleAnon, peakAnon, hwm, signed.Load(), time.Duration(slowest.Load()).Round(time.Millisecond),
		failed.Load(), refused, shed, seen, logLines)

	assert.LessOrEqual(t, peak, 2*idle, "RSS stays within twice idle under attack")
	assert.LessOrEqual(t, logLines, 6*4*int(attackDuration/time.Second+2), "at most 5 lines and a summary per second per reason")
	assert.Zero(t, failed.Load(), "no valid request fails after daprd's retries")
	assert.Positive(t, signed.Load())
	assert.Positive(t, refused, "the attack reached the handler")
}

// attack sends req, streams at a time, on a connection of its own (which
// the client opens again when Sentry closes it) until ctx is done, counting
// the codes it gets.
func attack(ctx context.Context, t *testing.T, p *sentryProc, anchors []byte, req *sentryv1.SignCertificateRequest, streams int, seen *sync.Map) {
	client, closeConn := p.dialNew(t, anchors)
	defer closeConn()
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := client.SignCertificate(ctx, req)
				c, _ := seen.LoadOrStore(status.Code(err), &atomic.Int64{})
				c.(*atomic.Int64).Add(1)
			}
		})
	}
	wg.Wait()
}

// signAsDaprd signs req as Dapr v1.18's pkg/security does: a new
// connection, up to five retries 50 ms apart of ResourceExhausted,
// Unavailable and of a try that took over 3 s (go-grpc-middleware's retry
// interceptor).
// Each failed try's code is passed to retried, if not nil.
func signAsDaprd(t *testing.T, p *sentryProc, anchors []byte, req *sentryv1.SignCertificateRequest, retried func(codes.Code)) (*sentryv1.SignCertificateResponse, error) {
	client, closeConn := p.dialNew(t, anchors)
	defer closeConn()
	var err error
	for try := range 6 {
		if try > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		tctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		var resp *sentryv1.SignCertificateResponse
		resp, err = client.SignCertificate(tctx, req)
		cancel()
		switch c := status.Code(err); c {
		case codes.ResourceExhausted, codes.Unavailable, codes.DeadlineExceeded:
			if retried != nil {
				retried(c)
			}
		default:
			return resp, err
		}
	}
	return nil, err
}
