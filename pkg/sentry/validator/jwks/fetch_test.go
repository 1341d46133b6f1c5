package jwks

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"
)

// jwksServer serves a key set that tests can swap or break.
type jwksServer struct {
	body     atomic.Pointer[[]byte]
	failing  atomic.Bool
	requests atomic.Int32
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.requests.Add(1)
	if s.failing.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(*s.body.Load())
}

func (s *jwksServer) serve(b []byte) { s.body.Store(&b) }

// startTLS returns an https server of s and its CA certificate as PEM.
func startTLS(t *testing.T, s *jwksServer) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(s)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, string(ca)
}

// waitForTimer waits until the refresh loop sleeps on fc.
func waitForTimer(t *testing.T, fc *clocktesting.FakeClock) {
	t.Helper()
	require.Eventually(t, fc.HasWaiters, eventually, time.Millisecond, "the refresh loop waits for its timer")
}

func TestHTTPSSourceFetchesAndRefreshes(t *testing.T) {
	caModes := map[string]func(t *testing.T, pem string) string{
		"with the CA given as PEM": func(_ *testing.T, pem string) string { return pem },
		"with the CA given as a file path": func(t *testing.T, pem string) string {
			path := filepath.Join(t.TempDir(), "ca.pem")
			require.NoError(t, os.WriteFile(path, []byte(pem), 0o600))
			return path
		},
	}
	for name, caOption := range caModes {
		t.Run(name, func(t *testing.T) {
			a := newKey(t, jwa.ES256, "a")
			b := newKey(t, jwa.ES256, "b")
			tokenA, tokenB := mint(t, a, validClaims()), mint(t, b, validClaims())
			s := &jwksServer{}
			s.serve(keySetJSON(t, a))
			srv, caPEM := startTLS(t, s)

			opts, fc, logs := testOptions(srv.URL + "/jwks.json")
			opts.CACertificate = caOption(t, caPEM)
			v, err := New(opts)
			require.NoError(t, err)
			require.False(t, v.Ready())
			stop := run(t, v)

			require.Eventually(t, v.Ready, eventually, time.Millisecond)
			assert.True(t, verifies(t, v, tokenA))
			assert.False(t, verifies(t, v, tokenB))

			// No refetch before MinRefreshInterval has passed.
			s.serve(keySetJSON(t, b))
			waitForTimer(t, fc)
			fc.Step(DefaultMinRefreshInterval - time.Second)
			assert.Equal(t, int32(1), s.requests.Load())
			assert.False(t, verifies(t, v, tokenB))

			// After it, the new set is in force.
			fc.Step(time.Second)
			require.Eventually(t, func() bool { return verifies(t, v, tokenB) }, eventually, time.Millisecond)
			assert.False(t, verifies(t, v, tokenA))

			// A failing refresh keeps the set and is logged.
			s.failing.Store(true)
			waitForTimer(t, fc)
			fc.Step(DefaultMinRefreshInterval)
			require.Eventually(t, logged(logs, "Failed to fetch JWKS; keeping the last good key set"), eventually, time.Millisecond)
			assert.Equal(t, int32(3), s.requests.Load())
			assert.True(t, v.Ready())
			assert.True(t, verifies(t, v, tokenB))

			// Once the server is back, the next refresh works again.
			s.failing.Store(false)
			s.serve(keySetJSON(t, a))
			waitForTimer(t, fc)
			fc.Step(DefaultMinRefreshInterval)
			require.Eventually(t, func() bool { return verifies(t, v, tokenA) }, eventually, time.Millisecond)

			stop()
		})
	}
}

func TestHTTPSSourceWithAnUntrustedCertificateIsNotReady(t *testing.T) {
	s := &jwksServer{}
	s.serve(keySetJSON(t, newKey(t, jwa.ES256, "a")))
	srv, _ := startTLS(t, s)
	opts, fc, logs := testOptions(srv.URL)
	v, err := New(opts) // system roots, which do not hold the test CA
	require.NoError(t, err)
	run(t, v)

	require.Eventually(t, logged(logs, "Failed to fetch JWKS; keeping the last good key set"), eventually, time.Millisecond)
	assert.False(t, v.Ready())
	line := logs.FilterMessage("Failed to fetch JWKS; keeping the last good key set").All()[0]
	assert.Contains(t, line.ContextMap()["error"], "certificate")
	assert.Equal(t, firstRetry, line.ContextMap()["retry_in"], "a validator that is not ready retries soon")

	// It retries with backoff while not ready.
	waitForTimer(t, fc)
	fc.Step(firstRetry)
	require.Eventually(t, func() bool {
		return s.requests.Load() == 0 && logs.FilterMessage("Failed to fetch JWKS; keeping the last good key set").Len() == 2
	}, eventually, time.Millisecond)
	assert.Equal(t, 2*firstRetry, logs.FilterMessage("Failed to fetch JWKS; keeping the last good key set").All()[1].ContextMap()["retry_in"])
}

func TestHTTPSourceWorksWithAWarning(t *testing.T) {
	k := newKey(t, jwa.RS256, "k")
	s := &jwksServer{}
	s.serve(keySetJSON(t, k))
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	opts, _, logs := testOptions(srv.URL + "/keys")
	v, err := New(opts)
	require.NoError(t, err)
	assert.Equal(t, 1, logs.FilterMessageSnippet("plain http URL").Len(), "an http source is warned about")
	run(t, v)

	require.Eventually(t, v.Ready, eventually, time.Millisecond)
	assert.True(t, verifies(t, v, mint(t, k, validClaims())))
}

func TestURLSourceRejectsBadResponses(t *testing.T) {
	tests := map[string]http.HandlerFunc{
		"a non-200 status is an error": func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "nope", http.StatusNotFound)
		},
		"an HTML page is an error": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<html></html>"))
		},
		"an oversized body is an error": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(make([]byte, maxKeySetSize+1))
		},
		"a body that is no key set is an error": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[]}`))
		},
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			opts, _, _ := testOptions(srv.URL)
			v, err := New(opts)
			require.NoError(t, err)
			t.Cleanup(v.client.CloseIdleConnections)
			require.Error(t, v.fetch(t.Context()))
			assert.False(t, v.Ready())
		})
	}
}

func TestURLSourceRefusesADowngradeRedirect(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
	t.Cleanup(tlsSrv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})

	opts, _, _ := testOptions(tlsSrv.URL)
	opts.CACertificate = string(ca)
	v, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(v.client.CloseIdleConnections)
	err = v.fetch(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing redirect from https to http")
}
