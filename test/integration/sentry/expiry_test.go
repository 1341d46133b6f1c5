package sentry

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/testca"
)

// warningLines returns the JSON log lines at level warning whose msg starts
// with prefix.
func warningLines(t *testing.T, logs, prefix string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if msg, _ := line["msg"].(string); line["level"] == "warning" && strings.HasPrefix(msg, prefix) {
			out = append(out, line)
		}
	}
	return out
}

// hoursLeft is the whole hours from a JSON line's time to notAfter,
// truncated, as the warning text counts them.
func hoursLeft(t *testing.T, line map[string]any, notAfter time.Time) int64 {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, line["time"].(string))
	require.NoError(t, err)
	return int64(notAfter.Sub(at) / time.Hour)
}

func TestSentryWarnsAboutARootAndIssuerCloseToExpiry(t *testing.T) {
	dir := t.TempDir()
	// NotBefore is a minute ago, so the root has 47h59m left: "1 day and
	// 23 hours" once truncated to whole hours.
	root := testca.NewRoot(t, testca.WithLifetime(48*time.Hour))
	issuer := root.Issuer(t, testca.WithLifetime(24*time.Hour))
	testca.WriteFile(t, filepath.Join(dir, "ca.crt"), root.CertPEM())
	testca.WriteFile(t, filepath.Join(dir, "issuer.crt"), issuer.CertPEM())
	testca.WriteFile(t, filepath.Join(dir, "issuer.key"), issuer.KeyPEM(t))

	p := startSentry(t, dir, "--log-as-json")
	const rootPrefix, issuerPrefix = "Dapr root certificate expiration warning: ", "Dapr issuer certificate expiration warning: "
	require.Eventually(t, func() bool {
		logs := p.Logs.String()
		return len(warningLines(t, logs, rootPrefix)) > 0 && len(warningLines(t, logs, issuerPrefix)) > 0
	}, 10*time.Second, 20*time.Millisecond, "the warnings are logged at startup")

	logs := p.Logs.String()
	roots, issuers := warningLines(t, logs, rootPrefix), warningLines(t, logs, issuerPrefix)
	require.Len(t, roots, 1, "one root warning in the first hour")
	require.Len(t, issuers, 1, "one issuer warning in the first hour")

	line := roots[0]
	require.Equal(t, int64(47), hoursLeft(t, line, root.Cert.NotAfter), "the test's premise: 47 whole hours left")
	assert.Equal(t, "Dapr root certificate expiration warning: certificate expires in 1 day and 23 hours", line["msg"])
	assert.Equal(t, "warning", line["level"])
	assert.Equal(t, "dapr.sentry", line["scope"], "exactly Dapr's scope, no sub-scope")
	assert.Equal(t, "log", line["type"])
	for _, k := range []string{"instance", "time", "ver"} {
		assert.Contains(t, line, k)
	}
	assert.Equal(t, root.Cert.SerialNumber.Text(16), line["serial"])

	require.Equal(t, int64(23), hoursLeft(t, issuers[0], issuer.Cert.NotAfter), "the test's premise: 23 whole hours left")
	assert.Equal(t, "Dapr issuer certificate expiration warning: certificate expires in 23 hours", issuers[0]["msg"])
	assert.Equal(t, "dapr.sentry", issuers[0]["scope"])
	assert.Equal(t, issuer.Cert.SerialNumber.Text(16), issuers[0]["serial"])

	m := p.Metrics(t)
	assert.Regexp(t, `(?m)^dapr_sentry_cert_expiry_warnings_total\{certificate="root"\} 1$`, m)
	assert.Regexp(t, `(?m)^dapr_sentry_cert_expiry_warnings_total\{certificate="issuer"\} 1$`, m)
}

func TestSentryDoesNotWarnAboutAFarExpiry(t *testing.T) {
	p := startSentry(t, t.TempDir(), "--log-as-json")
	m := p.Metrics(t)
	assert.Regexp(t, `(?m)^dapr_sentry_cert_expiry_warnings_total\{certificate="root"\} 0$`, m)
	assert.Regexp(t, `(?m)^dapr_sentry_cert_expiry_warnings_total\{certificate="issuer"\} 0$`, m)
	assert.NotContains(t, p.Logs.String(), "expiration warning", "a freshly generated CA has a year to go")
}
