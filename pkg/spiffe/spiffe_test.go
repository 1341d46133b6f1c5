package spiffe_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

var td = spiffeid.RequireTrustDomainFromString("cluster.local")

func TestAppID(t *testing.T) {
	tests := map[string]struct {
		namespace, appID string
		want             string
		wantErr          error
	}{
		"a plain app gets the Dapr path":           {namespace: "default", appID: "orders", want: "spiffe://cluster.local/ns/default/orders"},
		"inner dashes and digits are fine":         {namespace: "team-1", appID: "order-svc-2", want: "spiffe://cluster.local/ns/team-1/order-svc-2"},
		"64 characters are allowed":                {namespace: "ns", appID: strings.Repeat("a", 64), want: "spiffe://cluster.local/ns/ns/" + strings.Repeat("a", 64)},
		"65 characters are too many":               {namespace: "ns", appID: strings.Repeat("a", 65), wantErr: spiffe.ErrInvalidName},
		"an empty app ID is refused":               {namespace: "ns", wantErr: spiffe.ErrEmptyAppID},
		"an empty namespace is refused":            {appID: "app", wantErr: spiffe.ErrEmptyNamespace},
		"a dot is refused":                         {namespace: "ns", appID: "my.app", wantErr: spiffe.ErrInvalidName},
		"capitals are refused":                     {namespace: "Prod", appID: "app", wantErr: spiffe.ErrInvalidName},
		"a leading dash is refused":                {namespace: "ns", appID: "-app", wantErr: spiffe.ErrInvalidName},
		"a trailing dash is refused":               {namespace: "ns", appID: "app-", wantErr: spiffe.ErrInvalidName},
		"a slash cannot smuggle in a path segment": {namespace: "ns", appID: "a/b", wantErr: spiffe.ErrInvalidName},
		"an underscore is refused":                 {namespace: "ns", appID: "my_app", wantErr: spiffe.ErrInvalidName},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id, err := spiffe.AppID(td, tc.namespace, tc.appID)
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tc.wantErr), "got %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, id.String())
		})
	}
}

func TestTrustDomain(t *testing.T) {
	got, err := spiffe.TrustDomain("")
	require.NoError(t, err)
	assert.Equal(t, "public", got.Name(), "no trust domain means public")

	got, err = spiffe.TrustDomain("example.org")
	require.NoError(t, err)
	assert.Equal(t, "example.org", got.Name())

	_, err = spiffe.TrustDomain("Bad Domain")
	assert.Error(t, err)
}

func TestSentryID(t *testing.T) {
	id, err := spiffe.SentryID(td, "dapr-system")
	require.NoError(t, err)
	assert.Equal(t, "spiffe://cluster.local/ns/dapr-system/dapr-sentry", id.String())
}

func TestParse(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    spiffe.Workload
		wantErr bool
	}{
		"a workload ID splits into its parts": {
			in: "spiffe://cluster.local/ns/default/orders", want: spiffe.Workload{TrustDomain: td, Namespace: "default", AppID: "orders"},
		},
		"a path without ns is not a workload":   {in: "spiffe://cluster.local/default/orders", wantErr: true},
		"a longer path is not a workload":       {in: "spiffe://cluster.local/ns/default/orders/x", wantErr: true},
		"a bare trust domain is not a workload": {in: "spiffe://cluster.local", wantErr: true},
		"a bad app ID is refused":               {in: "spiffe://cluster.local/ns/default/My_App", wantErr: true},
		"not a SPIFFE ID at all":                {in: "https://example.org/ns/a/b", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, err := spiffe.ParseString(tc.in)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, w)
			id, err := w.ID()
			require.NoError(t, err)
			assert.Equal(t, tc.in, id.String(), "Parse and ID round-trip")
		})
	}
}
