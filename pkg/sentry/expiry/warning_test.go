package expiry

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/test/testca"
)

// t0 is the fake "now" of these tests.
var t0 = time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC)

// expiringIn returns a root valid from a year before t0 until t0+left.
func expiringIn(t *testing.T, left time.Duration) *testca.CA {
	t.Helper()
	start := t0.Add(-365 * 24 * time.Hour)
	return testca.NewRoot(t, testca.WithNotBefore(start), testca.WithLifetime(t0.Add(left).Sub(start)))
}

// issuerExpiringIn returns an issuer under root valid until t0+left.
func issuerExpiringIn(t *testing.T, root *testca.CA, left time.Duration) *testca.CA {
	t.Helper()
	start := t0.Add(-time.Hour)
	return root.Issuer(t, testca.WithNotBefore(start), testca.WithLifetime(t0.Add(left).Sub(start)))
}

func bundleOf(issuer *testca.CA, roots ...*testca.CA) *bundle.Bundle {
	b := &bundle.Bundle{IssuerChain: []*x509.Certificate{issuer.Cert}}
	for _, r := range roots {
		b.Roots = append(b.Roots, r.Cert)
	}
	return b
}

func TestRemainingSpellsDaysAndHoursTruncated(t *testing.T) {
	tests := map[string]struct {
		d    time.Duration
		want string
	}{
		"days and hours are both plural":           {2*24*time.Hour + 15*time.Hour, "2 days and 15 hours"},
		"one day and one hour are singular":        {25 * time.Hour, "1 day and 1 hour"},
		"one day and several hours":                {47*time.Hour + 59*time.Minute, "1 day and 23 hours"},
		"several days and one hour":                {3*24*time.Hour + time.Hour, "3 days and 1 hour"},
		"no days says only the hours":              {5 * time.Hour, "5 hours"},
		"one hour alone is singular":               {time.Hour + 59*time.Minute, "1 hour"},
		"whole days leave out zero hours":          {3 * 24 * time.Hour, "3 days"},
		"exactly one day":                          {24*time.Hour + 30*time.Minute, "1 day"},
		"under an hour says less than an hour":     {59 * time.Minute, "less than an hour"},
		"zero says less than an hour":              {0, "less than an hour"},
		"thirty days":                              {30 * 24 * time.Hour, "30 days"},
		"minutes and seconds are truncated away":   {29*24*time.Hour + 23*time.Hour + 59*time.Minute + 59*time.Second, "29 days and 23 hours"},
		"a nanosecond short of an hour truncates":  {2*time.Hour - time.Nanosecond, "1 hour"},
		"a nanosecond short of a day is all hours": {24*time.Hour - time.Nanosecond, "23 hours"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, remaining(tc.d))
		})
	}
}

func TestMessageKeepsDaprsText(t *testing.T) {
	tests := map[string]struct {
		kind    Certificate
		left    time.Duration
		expired bool
		want    string
	}{
		"an expiring root": {Root, 63 * time.Hour, false,
			"Dapr root certificate expiration warning: certificate expires in 2 days and 15 hours"},
		"an expired root": {Root, -time.Hour, true,
			"Dapr root certificate expiration warning: certificate has expired."},
		"an expiring issuer": {Issuer, 5 * time.Hour, false,
			"Dapr issuer certificate expiration warning: certificate expires in 5 hours"},
		"an expired issuer": {Issuer, -time.Minute, true,
			"Dapr issuer certificate expiration warning: certificate has expired."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, message(tc.kind, tc.left, tc.expired))
		})
	}
}

func TestDueWarnsWithinThirtyDays(t *testing.T) {
	farIssuerRoot := expiringIn(t, 2*365*24*time.Hour)
	farIssuer := issuerExpiringIn(t, farIssuerRoot, 365*24*time.Hour)

	tests := map[string]struct {
		rootLeft time.Duration
		want     []string // messages about the tested root
	}{
		"a root 29 days and 23 hours from expiry is warned about": {29*24*time.Hour + 23*time.Hour,
			[]string{"Dapr root certificate expiration warning: certificate expires in 29 days and 23 hours"}},
		"a root exactly 30 days from expiry is warned about": {30 * 24 * time.Hour,
			[]string{"Dapr root certificate expiration warning: certificate expires in 30 days"}},
		"a root 30 days and a minute from expiry is not": {30*24*time.Hour + time.Minute, nil},
		"a root a year from expiry is not":               {365 * 24 * time.Hour, nil},
		"a root at its NotAfter has not expired yet": {0,
			[]string{"Dapr root certificate expiration warning: certificate expires in less than an hour"}},
		"a root a second past its NotAfter has expired": {-time.Second,
			[]string{"Dapr root certificate expiration warning: certificate has expired."}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := expiringIn(t, tc.rootLeft)
			ws := due(bundleOf(farIssuer, root, farIssuerRoot), t0, DefaultThreshold)
			var got []string
			for _, w := range ws {
				assert.Equal(t, Root, w.Certificate, "only the tested root is due")
				assert.Equal(t, root.Cert.SerialNumber.Text(16), w.Serial)
				assert.True(t, w.NotAfter.Equal(root.Cert.NotAfter))
				assert.Equal(t, tc.rootLeft < 0, w.Expired)
				got = append(got, w.Message)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDueWarnsForTheIssuerAndEveryRootItsOwn(t *testing.T) {
	anchor := expiringIn(t, 10*24*time.Hour)
	other := expiringIn(t, -time.Hour)
	safe := expiringIn(t, 365*24*time.Hour)
	issuer := issuerExpiringIn(t, anchor, 25*time.Hour)

	ws := due(bundleOf(issuer, other, safe, anchor), t0, DefaultThreshold)
	require.Len(t, ws, 3)
	assert.Equal(t, Warning{Certificate: Root, Serial: other.Cert.SerialNumber.Text(16), NotAfter: other.Cert.NotAfter, Expired: true,
		Message: "Dapr root certificate expiration warning: certificate has expired."}, ws[0])
	assert.Equal(t, Warning{Certificate: Root, Serial: anchor.Cert.SerialNumber.Text(16), NotAfter: anchor.Cert.NotAfter,
		Message: "Dapr root certificate expiration warning: certificate expires in 10 days"}, ws[1])
	assert.Equal(t, Warning{Certificate: Issuer, Serial: issuer.Cert.SerialNumber.Text(16), NotAfter: issuer.Cert.NotAfter,
		Message: "Dapr issuer certificate expiration warning: certificate expires in 1 day and 1 hour"}, ws[2])
}

func TestDueHasNothingForNoBundle(t *testing.T) {
	assert.Empty(t, due(nil, t0, DefaultThreshold))
	assert.Empty(t, due(&bundle.Bundle{}, t0, DefaultThreshold))
}

func TestReasonNamesTheCertificateAndState(t *testing.T) {
	tests := map[string]struct {
		w    Warning
		want string
	}{
		"an expiring root":   {Warning{Certificate: Root}, "RootCertificateExpiring"},
		"an expired root":    {Warning{Certificate: Root, Expired: true}, "RootCertificateExpired"},
		"an expiring issuer": {Warning{Certificate: Issuer}, "IssuerCertificateExpiring"},
		"an expired issuer":  {Warning{Certificate: Issuer, Expired: true}, "IssuerCertificateExpired"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { assert.Equal(t, tc.want, tc.w.Reason()) })
	}
}
