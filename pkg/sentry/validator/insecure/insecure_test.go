package insecure_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/sentry/validator/insecure"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		req     validator.Request
		want    string
		wantErr error
		errText string
	}{
		"an empty trust domain means public": {
			req:  validator.Request{AppID: "orders", Namespace: "default"},
			want: "spiffe://public/ns/default/orders",
		},
		"the requested trust domain is granted": {
			req:  validator.Request{AppID: "dapr-operator", Namespace: "dapr-system", TrustDomain: "cluster.local"},
			want: "spiffe://cluster.local/ns/dapr-system/dapr-operator",
		},
		"a token is ignored": {
			req:  validator.Request{AppID: "orders", Namespace: "default", Token: "anything"},
			want: "spiffe://public/ns/default/orders",
		},
		"an app ID of 64 characters is accepted": {
			req:  validator.Request{AppID: strings.Repeat("a", 64), Namespace: "default"},
			want: "spiffe://public/ns/default/" + strings.Repeat("a", 64),
		},
		"an empty app ID is rejected": {
			req:     validator.Request{Namespace: "default"},
			wantErr: spiffe.ErrEmptyAppID,
		},
		"an empty namespace is rejected": {
			req:     validator.Request{AppID: "orders"},
			wantErr: spiffe.ErrEmptyNamespace,
		},
		"an app ID with a dot is rejected": {
			req:     validator.Request{AppID: "orders.v1", Namespace: "default"},
			wantErr: spiffe.ErrInvalidName,
			errText: "dot",
		},
		"an app ID longer than 64 characters is rejected": {
			req:     validator.Request{AppID: strings.Repeat("a", 65), Namespace: "default"},
			wantErr: spiffe.ErrInvalidName,
			errText: "65 characters",
		},
		"an upper-case app ID is rejected": {
			req:     validator.Request{AppID: "Orders", Namespace: "default"},
			wantErr: spiffe.ErrInvalidName,
		},
		"a namespace with a slash is rejected": {
			req:     validator.Request{AppID: "orders", Namespace: "a/b"},
			wantErr: spiffe.ErrInvalidName,
		},
		"a malformed trust domain is rejected": {
			req:     validator.Request{AppID: "orders", Namespace: "default", TrustDomain: "Not A Domain"},
			errText: "trust domain",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id, err := insecure.New().Validate(t.Context(), tc.req)
			if tc.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, id.String())
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, insecure.ErrInvalidRequest)
			assert.True(t, id.IsZero())
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
			}
			if tc.errText != "" {
				assert.Contains(t, err.Error(), tc.errText)
			}
		})
	}
}

func TestZeroValueIsUsable(t *testing.T) {
	var v insecure.Validator
	id, err := v.Validate(t.Context(), validator.Request{AppID: "orders", Namespace: "default"})
	require.NoError(t, err)
	assert.Equal(t, "spiffe://public/ns/default/orders", id.String())
}
