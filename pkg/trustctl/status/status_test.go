package status

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/test/testca"
)

var start = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func mustBundle(t *testing.T, roots []byte, ca *testca.CA) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Parse(roots, ca.CertPEM(), ca.KeyPEM(t))
	require.NoError(t, err)
	return b
}

func TestWarnings(t *testing.T) {
	root := testca.NewRoot(t, testca.WithNotBefore(start), testca.WithLifetime(60*24*time.Hour))
	b := mustBundle(t, root.CertPEM(), root.Issuer(t, testca.WithNotBefore(start), testca.WithLifetime(40*24*time.Hour)))
	const day = 24 * time.Hour
	cases := map[string]struct {
		after time.Duration
		count int
		want  []string
		level Level
	}{
		"nothing warns while both outlive the threshold": {after: 0, level: LevelOK},
		"the issuer warns first, in whole days, with an RFC 1123 date": {after: 10*day + time.Hour, count: 1, level: LevelExpiring,
			want: []string{"⚠  Dapr issuer certificate of your Kubernetes cluster expires in 29 days. Expiry date: Sun, 10 Feb 2030 00:00:00 UTC.\n   Renew it"}},
		"both warn when both are close": {after: 35 * day, count: 2, level: LevelExpiring, want: []string{
			"⚠  Dapr root certificate of your Kubernetes cluster expires in 25 days. Expiry date: Sat, 02 Mar 2030 00:00:00 UTC.",
			"⚠  Dapr issuer certificate of your Kubernetes cluster expires in 5 days."}},
		"one day left is singular": {after: 39 * day, count: 2, level: LevelExpiring,
			want: []string{"issuer certificate of your Kubernetes cluster expires in 1 day."}},
		"less than a day is not 'today'": {after: 40*day - time.Hour, count: 2, level: LevelExpiring,
			want: []string{"issuer certificate of your Kubernetes cluster expires in less than a day."}},
		"an hour after expiry is expired, not 'today'": {after: 40*day + time.Hour, count: 2, level: LevelExpired,
			want: []string{"issuer certificate of your Kubernetes cluster has expired."}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(start.Add(tc.after))
			certs := Certificates(b, clk.Now())
			got := Warnings(certs, clk.Now(), DefaultThreshold)
			require.Len(t, got, tc.count)
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				assert.Contains(t, all, w)
			}
			for _, g := range got {
				assert.Contains(t, g, "trustctl mtls renew-certificate")
			}
			assert.Equal(t, tc.level, Check(certs, clk.Now(), DefaultThreshold))
		})
	}
}

func TestAnchorOnlyRootsDoNotWarn(t *testing.T) {
	oldRoot := testca.NewRoot(t, testca.WithNotBefore(start.Add(-300*24*time.Hour)), testca.WithLifetime(301*24*time.Hour))
	newRoot := testca.NewRoot(t, testca.WithNotBefore(start))
	b := mustBundle(t, append(oldRoot.CertPEM(), newRoot.CertPEM()...), newRoot.Issuer(t, testca.WithNotBefore(start)))
	now := start.Add(2 * 24 * time.Hour) // the old root has expired
	certs := Certificates(b, now)
	require.Len(t, certs, 3)
	assert.False(t, certs[0].SigningRoot)
	assert.True(t, certs[0].Expired)
	assert.True(t, certs[1].SigningRoot)
	assert.Equal(t, -1, certs[0].DaysRemaining)
	assert.Empty(t, Warnings(certs, now, DefaultThreshold))
	assert.Equal(t, LevelOK, Check(certs, now, DefaultThreshold))

	var buf bytes.Buffer
	require.NoError(t, WriteExpiryTable(&buf, Expiry{Level: LevelOK, ThresholdDays: 30, Certificates: certs}))
	assert.Contains(t, buf.String(), "root (anchor only)")
	assert.Contains(t, buf.String(), "EXPIRED")
}

func TestNewAndOutput(t *testing.T) {
	ca := testca.NewRoot(t, testca.WithNotBefore(start)).Issuer(t, testca.WithNotBefore(start))
	b := mustBundle(t, ca.Root.CertPEM(), ca)
	cfg := config.Default()
	cfg.MTLSEnabled = false
	cases := map[string]struct {
		in     Input
		table  []string
		inSync bool
	}{
		"a disabled install with a stale ConfigMap says so": {
			in:    Input{Namespace: "ns", ConfigurationFound: true, Config: cfg, Bundle: b, PublishedRoots: []byte("old")},
			table: []string{"Mutual TLS is disabled", "cluster.local (default", "DIFFERENT from the Secret's roots", "ECDSA P-256"},
		},
		"a missing daprsystem and a bundle-less namespace still describe the settings": {
			in:    Input{Namespace: "ns", Config: config.Default()},
			table: []string{"Mutual TLS is enabled", "not found (defaults apply)", "15m0s"},
		},
		"a Secret another controller owns names it": {
			in:    Input{Namespace: "ns", Config: config.Default(), Bundle: b, SecretOwner: `cert-manager Certificate "dapr-ca"`},
			table: []string{`Trust bundle owner:  cert-manager Certificate "dapr-ca"`},
		},
		"a ConfigMap equal to the Secret's roots is in sync": {
			in:     Input{Namespace: "ns", Config: config.Default(), Bundle: b, PublishedRoots: append([]byte("\n"), ca.Root.CertPEM()...)},
			table:  []string{"in sync with the Secret"},
			inSync: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := New(tc.in, start)
			assert.Equal(t, tc.inSync, s.ConfigMapInSync)
			var buf bytes.Buffer
			require.NoError(t, WriteTable(&buf, s))
			for _, want := range tc.table {
				assert.Contains(t, buf.String(), want)
			}
			buf.Reset()
			require.NoError(t, WriteJSON(&buf, s))
			var back Status
			require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
			assert.Equal(t, s.MTLSEnabled, back.MTLSEnabled)
			assert.Equal(t, tc.in.SecretOwner, back.SecretOwner)
			if tc.in.SecretOwner == "" {
				assert.NotContains(t, buf.String(), "secretOwner")
			}
			assert.Len(t, back.Certificates, len(s.Certificates))
			assert.False(t, strings.Contains(buf.String(), "PRIVATE"), "no key material in the output")
		})
	}
}
