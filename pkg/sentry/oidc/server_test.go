package oidc_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/sentry/oidc"
)

// serverCert writes a self-signed certificate for 127.0.0.1 and returns
// its paths and a pool trusting it.
func serverCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "oidc test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600))
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// start runs a server until the test ends and returns its base URL.
func start(t *testing.T, opts oidc.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	opts.Listener = ln
	srv, err := oidc.New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	require.Eventually(t, func() bool { return srv.Ready() == nil }, 5*time.Second, time.Millisecond)
	scheme := "http"
	if opts.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + ln.Addr().String()
}

func TestServerOverTLSVerifiesTokensWithAFetchedKeySet(t *testing.T) {
	certFile, keyFile, pool := serverCert(t, t.TempDir())
	m, err := jwt.Generate(jwt.GenerateOptions{})
	require.NoError(t, err)
	iss, err := jwt.NewIssuer(jwt.IssuerOptions{Material: m, Issuer: "https://sentry.example.com"})
	require.NoError(t, err)
	base := start(t, oidc.Options{
		HandlerOptions: oidc.HandlerOptions{Source: iss, Issuer: "https://sentry.example.com", PathPrefix: "/oidc"},
		TLSCertFile:    certFile, TLSKeyFile: keyFile,
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}

	id := spiffeid.RequireFromString("spiffe://public/ns/shop/orders")
	toks, err := iss.Issue(jwt.Request{Subject: id, Audiences: []string{"public", "sts.amazonaws.com"}})
	require.NoError(t, err)

	set, err := jwk.Fetch(t.Context(), base+"/oidc/jwks.json", jwk.WithHTTPClient(client))
	require.NoError(t, err)
	tok, err := jwxjwt.Parse([]byte(toks.PerAudience["sts.amazonaws.com"]), jwxjwt.WithKeySet(set),
		jwxjwt.WithAudience("sts.amazonaws.com"), jwxjwt.WithIssuer("https://sentry.example.com"))
	require.NoError(t, err, "a token verifies against the key set fetched from the server")
	assert.Equal(t, id.String(), tok.Subject())
	_, err = jwxjwt.Parse([]byte(toks.PerAudience["public"]), jwxjwt.WithKeySet(set), jwxjwt.WithAudience("sts.amazonaws.com"))
	require.Error(t, err, "a token for another audience does not verify")

	_, err = http.Get(base + "/oidc/jwks.json")
	require.Error(t, err, "an untrusting client cannot talk to the TLS server")
	resp, err := client.Get(base + "/oidc/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))
}

func TestServerWithoutTLSServesPlainHTTP(t *testing.T) {
	m, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwa.ES256})
	require.NoError(t, err)
	iss, err := jwt.NewIssuer(jwt.IssuerOptions{Material: m})
	require.NoError(t, err)
	base := start(t, oidc.Options{HandlerOptions: oidc.HandlerOptions{Source: iss, Issuer: "https://sentry.example.com"}})
	set, err := jwk.Fetch(t.Context(), base+"/jwks.json")
	require.NoError(t, err)
	_, ok := set.LookupKeyID(m.KeyID)
	assert.True(t, ok)
}

func TestServerReloadsItsCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := serverCert(t, dir)
	base := start(t, oidc.Options{
		HandlerOptions: oidc.HandlerOptions{Source: newSource(`{"keys":[]}`), Issuer: issuer},
		TLSCertFile:    certFile, TLSKeyFile: keyFile,
	})
	// A new pair written over the old one is served from the next handshake.
	newDir := t.TempDir()
	newCert, newKey, pool := serverCert(t, newDir)
	for _, p := range [][2]string{{newCert, certFile}, {newKey, keyFile}} {
		data, err := os.ReadFile(p[0])
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p[1], data, 0o600))
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Get(base + "/jwks.json")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestNewRefusesHalfATLSPair(t *testing.T) {
	_, err := oidc.New(oidc.Options{
		HandlerOptions: oidc.HandlerOptions{Source: newSource("{}"), Issuer: issuer},
		Address:        "127.0.0.1:0", TLSCertFile: "/tls.crt",
	})
	require.Error(t, err)
	_, err = oidc.New(oidc.Options{
		HandlerOptions: oidc.HandlerOptions{Source: newSource("{}"), Issuer: issuer},
		Address:        "127.0.0.1:0", TLSCertFile: "/nope.crt", TLSKeyFile: "/nope.key",
	})
	require.ErrorContains(t, err, "load TLS certificate", "a missing certificate is an error at start")
}

func TestServerClosesAnIdleKeepAliveConnectionAndRefusesLargeHeaders(t *testing.T) {
	base := start(t, oidc.Options{
		HandlerOptions: oidc.HandlerOptions{Source: newSource(`{"keys":[]}`), Issuer: issuer},
		IdleTimeout:    200 * time.Millisecond,
	})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /jwks.json HTTP/1.1\r\nHost: sentry.example.com\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	assert.False(t, resp.Close, "kept alive")
	idleFrom := time.Now()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.Copy(io.Discard, c)
	assert.NoError(t, err, "the server closes the idle connection (EOF)")
	assert.Less(t, time.Since(idleFrom), 2*time.Second)

	req, err := http.NewRequest(http.MethodGet, base+"/jwks.json", nil)
	require.NoError(t, err)
	req.Header.Set("X-Padding", strings.Repeat("p", 32<<10))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}
