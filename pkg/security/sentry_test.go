package security

// An in-test Sentry: a real TLS gRPC server whose certificate is an SVID for
// a chosen ID, signing CSRs with a CA built here, on the fake clock.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	clocktesting "k8s.io/utils/clock/testing"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// testSentryID is the ID the fake Sentry presents unless told otherwise.
var testSentryID = spiffeid.RequireFromString("spiffe://localhost/ns/default/dapr-sentry")

// testCA is a root and an issuer signed by it.
type testCA struct {
	root, issuer       *x509.Certificate
	rootKey, issuerKey crypto.Signer
	rootPEM            []byte
}

func newTestKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	ca := &testCA{rootKey: newTestKey(t), issuerKey: newTestKey(t)}
	now := time.Now()
	ca.root = createCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name + " root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:  x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
	}, nil, ca.rootKey.Public(), ca.rootKey)
	ca.issuer = createCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name + " issuer"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:  x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0),
	}, ca.root, ca.issuerKey.Public(), ca.rootKey)
	ca.rootPEM = pemCert(ca.root)
	return ca
}

func createCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	c, err := tryCreateCert(tmpl, parent, pub, key)
	require.NoError(t, err)
	return c
}

// tryCreateCert signs tmpl with a random serial; parent nil self-signs.
func tryCreateCert(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func pemCert(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// leaf issues an SVID certificate for id valid in [from, to).
func (ca *testCA) leaf(t testing.TB, id spiffeid.ID, pub crypto.PublicKey, from, to time.Time) *x509.Certificate {
	t.Helper()
	c, err := ca.tryLeaf(id, pub, from, to)
	require.NoError(t, err)
	return c
}

func (ca *testCA) tryLeaf(id spiffeid.ID, pub crypto.PublicKey, from, to time.Time) (*x509.Certificate, error) {
	return tryCreateCert(&x509.Certificate{
		URIs:      []*url.URL{id.URL()},
		NotBefore: from, NotAfter: to,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, ca.issuer, pub, ca.issuerKey)
}

// fakeSentry implements the CA service.
type fakeSentry struct {
	sentryv1.UnimplementedCAServer
	ca    *testCA
	clock *clocktesting.FakeClock
	ttl   time.Duration
	// backdate moves NotBefore into the past, as Sentry does for clock skew.
	backdate time.Duration
	addr     string

	mu         sync.Mutex
	requests   []*sentryv1.SignCertificateRequest
	failing    bool
	trustChain [][]byte
}

// startFakeSentry serves the CA on loopback with an SVID for serverID signed
// by serverCA, and stops it at the end of the test.
func startFakeSentry(t *testing.T, ca, serverCA *testCA, serverID spiffeid.ID, clk *clocktesting.FakeClock) *fakeSentry {
	t.Helper()
	fs := &fakeSentry{ca: ca, clock: clk, ttl: time.Hour, trustChain: [][]byte{ca.rootPEM}}
	key := newTestKey(t)
	now := time.Now()
	leaf := serverCA.leaf(t, serverID, key.Public(), now.Add(-time.Hour), now.Add(24*time.Hour))
	creds := credentials.NewTLS(&tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw, serverCA.issuer.Raw}, PrivateKey: key, Leaf: leaf}},
	})
	srv := grpc.NewServer(grpc.Creds(creds))
	sentryv1.RegisterCAServer(srv, fs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fs.addr = lis.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return fs
}

func (fs *fakeSentry) SignCertificate(_ context.Context, req *sentryv1.SignCertificateRequest) (*sentryv1.SignCertificateResponse, error) {
	fs.mu.Lock()
	fs.requests = append(fs.requests, proto.CloneOf(req))
	failing, chain := fs.failing, fs.trustChain
	fs.mu.Unlock()
	if failing {
		return nil, status.Error(codes.Unavailable, "sentry is failing on purpose")
	}
	block, _ := pem.Decode(req.GetCertificateSigningRequest())
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, status.Error(codes.InvalidArgument, "invalid certificate signing request")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		return nil, status.Error(codes.InvalidArgument, "invalid signature")
	}
	td, err := spiffe.TrustDomain(req.GetTrustDomain())
	if err != nil {
		return nil, status.Error(codes.PermissionDenied, err.Error())
	}
	id, err := spiffe.AppID(td, req.GetNamespace(), req.GetId())
	if err != nil {
		return nil, status.Error(codes.PermissionDenied, err.Error())
	}
	now := fs.clock.Now()
	leaf, err := fs.ca.tryLeaf(id, csr.PublicKey, now.Add(-fs.backdate), now.Add(fs.ttl))
	if err != nil {
		return nil, status.Error(codes.Internal, "failed to sign certificate")
	}
	return &sentryv1.SignCertificateResponse{
		WorkloadCertificate:    pemCert(leaf, fs.ca.issuer),
		TrustChainCertificates: chain,
		ValidUntil:             timestamppb.New(leaf.NotAfter),
	}, nil
}

func (fs *fakeSentry) setFailing(v bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.failing = v
}

func (fs *fakeSentry) setTrustChain(chain [][]byte) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.trustChain = chain
}

func (fs *fakeSentry) requestCount() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.requests)
}

func (fs *fakeSentry) request(i int) *sentryv1.SignCertificateRequest {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests[i]
}

// testEnv is a CA, a fake Sentry for it and a fake clock.
type testEnv struct {
	ca     *testCA
	sentry *fakeSentry
	clock  *clocktesting.FakeClock
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ca := newTestCA(t, "test")
	clk := clocktesting.NewFakeClock(time.Now())
	return &testEnv{ca: ca, clock: clk, sentry: startFakeSentry(t, ca, ca, testSentryID, clk)}
}

// options returns Options for app in "default" against the fake Sentry.
func (e *testEnv) options(t *testing.T, app string) Options {
	return Options{
		SentryAddress: e.sentry.addr,
		SentryID:      testSentryID,
		TrustAnchors:  e.ca.rootPEM,
		AppID:         app,
		Namespace:     "default",
		Clock:         e.clock,
		Rand:          func() float64 { return 0.5 },
		Logger:        zaptest.NewLogger(t),
	}
}

// startClient runs c.Start until the end of the test and checks that it
// returns nil when its context is cancelled.
func startClient(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-errc)
	})
}

// readyClient builds, starts and waits for a client.
func readyClient(t *testing.T, opts Options) *Client {
	t.Helper()
	c, err := New(opts)
	require.NoError(t, err)
	startClient(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.WaitReady(ctx))
	return c
}

// waitTimer waits until the client's loop is blocked on the fake clock.
func waitTimer(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	require.Eventually(t, clk.HasWaiters, 5*time.Second, time.Millisecond)
}

// writeFileAtomic replaces path the way a ConfigMap update does: by rename.
func writeFileAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}
