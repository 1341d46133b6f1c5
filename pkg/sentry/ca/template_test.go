package ca_test

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/test/testca"
)

var (
	now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	td  = spiffeid.RequireTrustDomainFromString("cluster.local")
	id  = spiffeid.RequireFromSegments(td, "ns", "default", "orders")
)

func TestValidity(t *testing.T) {
	tests := map[string]struct {
		params        ca.LeafParams
		wantNotBefore time.Time
		wantNotAfter  time.Time
		wantErr       error
	}{
		"the leaf lives TTL from now and starts skew before now": {
			params:        ca.LeafParams{Now: now, TTL: 24 * time.Hour, ClockSkew: 15 * time.Minute, IssuerNotAfter: now.Add(365 * 24 * time.Hour)},
			wantNotBefore: now.Add(-15 * time.Minute),
			wantNotAfter:  now.Add(24 * time.Hour),
		},
		"the leaf never outlives its issuer": {
			params:        ca.LeafParams{Now: now, TTL: 24 * time.Hour, ClockSkew: 15 * time.Minute, IssuerNotAfter: now.Add(time.Hour)},
			wantNotBefore: now.Add(-15 * time.Minute),
			wantNotAfter:  now.Add(time.Hour),
		},
		"an expired issuer signs nothing": {
			params:  ca.LeafParams{Now: now, TTL: time.Hour, IssuerNotAfter: now.Add(-time.Second)},
			wantErr: ca.ErrIssuerExpired,
		},
		"an issuer expiring this very instant signs nothing": {
			params:  ca.LeafParams{Now: now, TTL: time.Hour, IssuerNotAfter: now},
			wantErr: ca.ErrIssuerExpired,
		},
		"times are cut to whole seconds, as certificates encode them": {
			params:        ca.LeafParams{Now: now.Add(700 * time.Millisecond), TTL: time.Hour, IssuerNotAfter: now.Add(48 * time.Hour)},
			wantNotBefore: now,
			wantNotAfter:  now.Add(time.Hour),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			nb, na, err := ca.Validity(tc.params)
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tc.wantErr), "got %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantNotBefore, nb)
			assert.Equal(t, tc.wantNotAfter, na)
		})
	}
}

func TestLeafTemplate(t *testing.T) {
	key := testca.NewKey(t)
	tmpl, err := ca.LeafTemplate(ca.LeafParams{
		PublicKey: key.Public(), ID: id, Now: now, TTL: time.Hour, ClockSkew: time.Minute,
		IssuerNotAfter: now.Add(48 * time.Hour),
	})
	require.NoError(t, err)

	require.Len(t, tmpl.URIs, 1)
	assert.Equal(t, "spiffe://cluster.local/ns/default/orders", tmpl.URIs[0].String())
	assert.Empty(t, tmpl.Subject.String(), "an SVID has an empty subject")
	assert.Empty(t, tmpl.DNSNames)
	assert.Equal(t, x509.KeyUsageDigitalSignature, tmpl.KeyUsage)
	assert.ElementsMatch(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, tmpl.ExtKeyUsage)
	assert.True(t, tmpl.BasicConstraintsValid)
	assert.False(t, tmpl.IsCA)
	assert.Equal(t, key.Public(), tmpl.PublicKey)
	assert.Positive(t, tmpl.SerialNumber.Sign())
	assert.LessOrEqual(t, tmpl.SerialNumber.BitLen(), 128)

	other, err := ca.LeafTemplate(ca.LeafParams{PublicKey: key.Public(), ID: id, Now: now, TTL: time.Hour, IssuerNotAfter: now.Add(time.Hour * 2)})
	require.NoError(t, err)
	assert.NotEqual(t, tmpl.SerialNumber, other.SerialNumber, "serials are random")
}

func TestLeafTemplate_NeedsAnID(t *testing.T) {
	_, err := ca.LeafTemplate(ca.LeafParams{PublicKey: testca.NewKey(t).Public(), Now: now, TTL: time.Hour, IssuerNotAfter: now.Add(time.Hour * 2)})
	require.Error(t, err)
}

func TestDNSNamesFor(t *testing.T) {
	tests := map[string]struct {
		id   spiffeid.ID
		want []string
	}{
		"the injector in the control-plane namespace gets its Service name": {
			id:   spiffeid.RequireFromSegments(td, "ns", "dapr-system", "dapr-injector"),
			want: []string{"dapr-sidecar-injector.dapr-system.svc"},
		},
		"the operator in the control-plane namespace gets its webhook Service name": {
			id:   spiffeid.RequireFromSegments(td, "ns", "dapr-system", "dapr-operator"),
			want: []string{"dapr-webhook.dapr-system.svc"},
		},
		"an app called dapr-injector in another namespace gets nothing": {
			id: spiffeid.RequireFromSegments(td, "ns", "default", "dapr-injector"),
		},
		"the injector name under another trust domain gets nothing": {
			id: spiffeid.RequireFromSegments(spiffeid.RequireTrustDomainFromString("public"), "ns", "dapr-system", "dapr-injector"),
		},
		"the scheduler gets its three StatefulSet pods' names under the cluster domain, as Dapr's scheduler expects": {
			id: spiffeid.RequireFromSegments(td, "ns", "dapr-system", "dapr-scheduler"),
			want: []string{
				"dapr-scheduler-server-0.dapr-scheduler-server.dapr-system.svc.cluster.example",
				"dapr-scheduler-server-1.dapr-scheduler-server.dapr-system.svc.cluster.example",
				"dapr-scheduler-server-2.dapr-scheduler-server.dapr-system.svc.cluster.example",
			},
		},
		"placement gets nothing, as in Dapr": {
			id: spiffeid.RequireFromSegments(td, "ns", "dapr-system", "dapr-placement"),
		},
		"an ordinary app gets nothing": {
			id: spiffeid.RequireFromSegments(td, "ns", "dapr-system", "orders"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, ca.DNSNamesFor(tc.id, td, "dapr-system", "cluster.example"))
		})
	}
}
