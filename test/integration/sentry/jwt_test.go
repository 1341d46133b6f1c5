package sentry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
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
	"github.com/lestrrat-go/jwx/v2/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/test/testca"
)

// oidcEndpoint is an OIDC server Sentry is told to run: its address, TLS
// files and a client trusting its certificate.
type oidcEndpoint struct {
	port              string
	certFile, keyFile string
	client            *http.Client
}

func newOIDCEndpoint(t *testing.T) *oidcEndpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sentry oidc"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	e := &oidcEndpoint{port: port, certFile: filepath.Join(dir, "tls.crt"), keyFile: filepath.Join(dir, "tls.key")}
	testca.WriteFile(t, e.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	testca.WriteFile(t, e.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	e.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return e
}

func (e *oidcEndpoint) issuer() string { return "https://127.0.0.1:" + e.port + "/oidc" }

func (e *oidcEndpoint) args() []string {
	return []string{
		"--jwt-enabled", "--jwt-issuer", e.issuer(), "--oidc-enabled",
		"--oidc-server-listen-address", "127.0.0.1", "--oidc-server-listen-port", e.port, "--oidc-path-prefix", "/oidc",
		"--oidc-server-tls-cert-file", e.certFile, "--oidc-server-tls-key-file", e.keyFile,
	}
}

// keySet fetches the key set from Sentry's OIDC server, as a relying party.
func (e *oidcEndpoint) keySet(t *testing.T) jwk.Set {
	t.Helper()
	set, err := jwk.Fetch(ctx(t), "https://127.0.0.1:"+e.port+"/oidc/jwks.json", jwk.WithHTTPClient(e.client))
	require.NoError(t, err)
	return set
}

func signWithJWT(t *testing.T, client sentryv1.CAClient, auds ...string) *sentryv1.SignCertificateResponse {
	t.Helper()
	resp, err := client.SignCertificate(ctx(t), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)), JwtAudiences: auds,
	})
	require.NoError(t, err)
	return resp
}

func TestSentryIssuesJWTsVerifiableThroughItsOIDCServer(t *testing.T) {
	dir := t.TempDir()
	oidcSrv := newOIDCEndpoint(t)
	p := startSentry(t, dir, oidcSrv.args()...)
	client := p.client(t)

	for _, f := range []string{"jwt.key", "jwks.json"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, "sentry generates and stores %s", f)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	}

	resp, err := oidcSrv.client.Get(oidcSrv.issuer() + "/.well-known/openid-configuration")
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()
	assert.Equal(t, oidcSrv.issuer(), doc["issuer"], "the document's issuer is --jwt-issuer")
	assert.Equal(t, oidcSrv.issuer()+"/jwks.json", doc["jwks_uri"])
	assert.Equal(t, []any{"RS256"}, doc["id_token_signing_alg_values_supported"], "a generated key is RS256")

	signed := signWithJWT(t, client, "sts.amazonaws.com")
	leaf := parseChain(t, signed.GetWorkloadCertificate())[0]
	set := oidcSrv.keySet(t)
	tok, err := jwxjwt.Parse([]byte(signed.GetJwt().GetValue()), jwxjwt.WithKeySet(set),
		jwxjwt.WithAudience("sts.amazonaws.com"), jwxjwt.WithIssuer(oidcSrv.issuer()))
	require.NoError(t, err, "the JWT verifies against the served key set")
	assert.Equal(t, "spiffe://public/ns/shop/orders", tok.Subject())
	assert.Equal(t, []string{"public", "sts.amazonaws.com"}, tok.Audience())
	assert.False(t, tok.Expiration().After(leaf.NotAfter), "exp is not after the leaf's NotAfter")
	require.Len(t, signed.GetPerAudienceJwts(), 2)
	_, err = jwxjwt.Parse([]byte(signed.GetPerAudienceJwts()["public"].GetValue()), jwxjwt.WithKeySet(set), jwxjwt.WithAudience("sts.amazonaws.com"))
	require.Error(t, err, "a token for another audience fails")

	req, err := http.NewRequest(http.MethodPost, oidcSrv.issuer()+"/jwks.json", nil)
	require.NoError(t, err)
	resp, err = oidcSrv.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	t.Run("the key is kept across a restart", func(t *testing.T) {
		before, err := os.ReadFile(filepath.Join(dir, "jwt.key"))
		require.NoError(t, err)
		p.Stop(t)
		p2 := startSentry(t, dir, oidcSrv.args()...)
		again := signWithJWT(t, p2.client(t))
		_, err = jwxjwt.Parse([]byte(again.GetJwt().GetValue()), jwxjwt.WithKeySet(set), jwxjwt.WithAudience("public"))
		require.NoError(t, err, "the old key set still verifies new tokens")
		after, err := os.ReadFile(filepath.Join(dir, "jwt.key"))
		require.NoError(t, err)
		assert.Equal(t, before, after)
	})
}

// TestSentryRotatesItsJWTKeyWithoutRestart walks a rotation on the files:
// publish the new key beside the old, switch jwt.key, and check that tokens
// of both keys verify against what the OIDC server serves.
func TestSentryRotatesItsJWTKeyWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	oidcSrv := newOIDCEndpoint(t)
	p := startSentry(t, dir, oidcSrv.args()...)
	client := p.client(t)
	oldTok := signWithJWT(t, client).GetJwt().GetValue()
	old, err := jwt.ParseMaterial(readFile(t, dir, "jwt.key"), readFile(t, dir, "jwks.json"), jwt.ParseOptions{})
	require.NoError(t, err)
	next, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwa.RS256})
	require.NoError(t, err)

	// Phase 1: publish the new key beside the old one.
	both := jwk.NewSet()
	for _, m := range []*jwt.Material{old, next} {
		s, err := jwk.Parse(m.JWKSJSON)
		require.NoError(t, err)
		k, _ := s.Key(0)
		require.NoError(t, both.AddKey(k))
	}
	bothJSON, err := json.Marshal(both)
	require.NoError(t, err)
	replaceFile(t, dir, "jwks.json", bothJSON)
	require.Eventually(t, func() bool { return oidcSrv.keySet(t).Len() == 2 }, 15*time.Second, 100*time.Millisecond, "both keys are published")
	assert.Equal(t, old.KeyID, kidOf(t, signWithJWT(t, client).GetJwt().GetValue()), "signing stays on the old key")

	// Phase 2: switch signing to the new key.
	replaceFile(t, dir, "jwt.key", next.KeyPEM)
	require.Eventually(t, func() bool {
		return kidOf(t, signWithJWT(t, client).GetJwt().GetValue()) == next.KeyID
	}, 15*time.Second, 100*time.Millisecond, "signing switches to the new key")
	set := oidcSrv.keySet(t)
	for name, tok := range map[string]string{"an old token": oldTok, "a new token": signWithJWT(t, client).GetJwt().GetValue()} {
		_, err := jwxjwt.Parse([]byte(tok), jwxjwt.WithKeySet(set, jws.WithRequireKid(true)), jwxjwt.WithAudience("public"))
		require.NoError(t, err, "%s verifies during the rotation", name)
	}

	// A broken edit (a key that is not in the set) is refused; signing goes on.
	stray, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwa.ES256})
	require.NoError(t, err)
	replaceFile(t, dir, "jwt.key", stray.KeyPEM)
	require.Eventually(t, func() bool {
		logs := p.Logs.String()
		return strings.Contains(logs, "Rejected new trust bundle") && strings.Contains(logs, "the signing key is not in the key set")
	}, 15*time.Second, 100*time.Millisecond)
	assert.Equal(t, next.KeyID, kidOf(t, signWithJWT(t, client).GetJwt().GetValue()), "the loaded key keeps signing")
}

func TestSentryRefusesHalfAJWTKeyPair(t *testing.T) {
	dir := t.TempDir()
	root := testca.NewRoot(t)
	root.Issuer(t).WriteBundle(t, dir)
	m, err := jwt.Generate(jwt.GenerateOptions{})
	require.NoError(t, err)
	testca.WriteFile(t, filepath.Join(dir, "jwt.key"), m.KeyPEM)
	p := launch(t, dir, "--jwt-enabled")
	assert.NotEqual(t, 0, p.ExitCode(t))
	assert.Contains(t, p.Logs.String(), "jwks.json is missing")
	_, err = os.Stat(filepath.Join(dir, "jwks.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing is generated over the user's key")
	assert.Equal(t, m.KeyPEM, readFile(t, dir, "jwt.key"))
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return data
}

// replaceFile renames a new file over dir/name, as an operator's tool would.
func replaceFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".new")
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	msg, err := jws.Parse([]byte(tok))
	require.NoError(t, err)
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}
