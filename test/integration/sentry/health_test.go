package sentry

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/proc"
	"github.com/trustplane/trustplane/test/testca"
)

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// Dapr's chart probes /healthz for readiness and Dapr's tooling waits on it:
// it means every server of Sentry listens, as Dapr's does.
func TestHealthzMeansEveryServerListens(t *testing.T) {
	dir := t.TempDir()
	oidcAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(proc.FreePort(t)))
	host, port, _ := net.SplitHostPort(oidcAddr)
	p := launch(t, dir, "--generate-ca=false", "--jwt-enabled", "--oidc-enabled", "--oidc-server-tls-enabled=false",
		"--oidc-server-listen-address", host, "--oidc-server-listen-port", port)
	base := "http://" + p.HealthAddr

	require.Eventually(t, func() bool { return httpStatus(t, base+"/livez") == http.StatusOK }, 30*time.Second, 20*time.Millisecond,
		"live while it waits for its trust bundle")
	assert.Equal(t, http.StatusServiceUnavailable, httpStatus(t, base+"/healthz"), "/healthz is not 200 before the CA serves")
	assert.Equal(t, http.StatusServiceUnavailable, httpStatus(t, base+"/readyz"))

	ca := testca.NewRoot(t)
	ca.Issuer(t).WriteBundle(t, dir)
	require.Eventually(t, func() bool { return httpStatus(t, base+"/healthz") == http.StatusOK }, 30*time.Second, 5*time.Millisecond)
	for name, addr := range map[string]string{"gRPC": p.GRPCAddr, "metrics": p.MetricsAddr, "OIDC": oidcAddr} {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if assert.NoError(t, err, "%s listens once /healthz is 200", name) {
			_ = c.Close()
		}
	}
	assert.Equal(t, http.StatusOK, httpStatus(t, "http://"+oidcAddr+"/.well-known/openid-configuration"))
}
