package insecure_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/sentry/validator/insecure"
)

func TestValidate(t *testing.T) {
	req := func(f func(*validator.Request)) validator.Request {
		r := validator.Request{AppID: "orders", Namespace: "default", HasCSR: true}
		if f != nil {
			f(&r)
		}
		return r
	}
	tests := map[string]struct {
		req  validator.Request
		want string
		// wantMsg is the caller's message: Dapr v1.18.3's for the same refusal.
		wantMsg string
	}{
		"an empty trust domain means public": {req: req(nil), want: "spiffe://public/ns/default/orders"},
		"the requested trust domain is granted": {
			req: req(func(r *validator.Request) {
				r.AppID, r.Namespace, r.TrustDomain = "dapr-operator", "dapr-system", "cluster.local"
			}),
			want: "spiffe://cluster.local/ns/dapr-system/dapr-operator",
		},
		"a token is ignored": {req: req(func(r *validator.Request) { r.Token = "anything" }), want: "spiffe://public/ns/default/orders"},
		"an app ID of 64 characters is accepted": {
			req:  req(func(r *validator.Request) { r.AppID = strings.Repeat("a", 64) }),
			want: "spiffe://public/ns/default/" + strings.Repeat("a", 64),
		},
		"an app ID with capitals and underscores is accepted, as Dapr accepts it": {
			req:  req(func(r *validator.Request) { r.AppID = "My_App" }),
			want: "spiffe://public/ns/default/My_App",
		},
		"an empty app ID is refused": {
			req: req(func(r *validator.Request) { r.AppID = "" }), wantMsg: "invalid request: parameter app-id cannot be empty",
		},
		"an app ID with a dot is refused": {
			req: req(func(r *validator.Request) { r.AppID = "a.b" }), wantMsg: "invalid request: parameter app-id cannot contain dots",
		},
		"an app ID of 65 characters is refused": {
			req:     req(func(r *validator.Request) { r.AppID = strings.Repeat("a", 65) }),
			wantMsg: "invalid request: app ID must be 64 characters or less",
		},
		"a request without a CSR is refused": {
			req: req(func(r *validator.Request) { r.HasCSR = false }), wantMsg: "invalid request: CSR is required",
		},
		"a request without a namespace is refused": {
			req: req(func(r *validator.Request) { r.Namespace = "" }), wantMsg: "invalid request: namespace is required",
		},
		"every broken rule is reported at once, as Dapr joins them": {
			req:     validator.Request{},
			wantMsg: "invalid request: parameter app-id cannot be empty\nCSR is required\nnamespace is required",
		},
		"a malformed trust domain is refused with go-spiffe's reason": {
			req:     req(func(r *validator.Request) { r.TrustDomain = "Bad Domain" }),
			wantMsg: "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores",
		},
		"an app ID that cannot be a SPIFFE path segment is refused": {
			req:     req(func(r *validator.Request) { r.AppID = "a b" }),
			wantMsg: "failed to construct SPIFFE ID for requestor: path segment characters are limited to letters, numbers, dots, dashes, and underscores",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id, err := insecure.New().Validate(t.Context(), tc.req)
			if tc.wantMsg != "" {
				require.ErrorIs(t, err, insecure.ErrInvalidRequest)
				assert.Equal(t, tc.wantMsg, validator.PublicMessage(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, id.String())
		})
	}
}

func TestZeroValueIsUsable(t *testing.T) {
	var v insecure.Validator
	_, err := v.Validate(t.Context(), validator.Request{AppID: "a", Namespace: "b", HasCSR: true})
	require.NoError(t, err)
}
