package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/oidc"
)

// source is a Source whose key set a test can swap.
type source struct {
	jwks atomic.Pointer[[]byte]
	alg  string
}

func newSource(jwks string) *source {
	s := &source{alg: "RS256"}
	s.set(jwks)
	return s
}

func (s *source) set(jwks string) { b := []byte(jwks); s.jwks.Store(&b) }

func (s *source) PublicJWKS() []byte { return *s.jwks.Load() }
func (s *source) Algorithm() string  { return s.alg }

const issuer = "https://sentry.example.com"

func newHandler(t *testing.T, opts oidc.HandlerOptions) http.Handler {
	t.Helper()
	if opts.Source == nil {
		opts.Source = newSource(`{"keys":[{"kty":"EC"}]}`)
	}
	if opts.Issuer == "" {
		opts.Issuer = issuer
	}
	h, err := oidc.NewHandler(opts)
	require.NoError(t, err)
	return h
}

func get(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func discovery(t *testing.T, w *httptest.ResponseRecorder) oidc.Discovery {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var d oidc.Discovery
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &d))
	return d
}

func TestDiscoveryDocument(t *testing.T) {
	h := newHandler(t, oidc.HandlerOptions{})
	w := get(h, http.MethodGet, "/.well-known/openid-configuration", nil)
	d := discovery(t, w)
	assert.Equal(t, oidc.Discovery{
		Issuer:                           issuer,
		JWKSURI:                          issuer + "/jwks.json",
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{"RS256"},
		ScopesSupported:                  []string{"openid"},
		ClaimsSupported:                  []string{"sub", "iss", "aud", "exp", "iat", "nbf", "use"},
	}, d)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Equal(t, oidc.CacheControl, w.Header().Get("Cache-Control"))
}

func TestEndpoints(t *testing.T) {
	tests := map[string]struct {
		opts     oidc.HandlerOptions
		method   string
		target   string
		header   map[string]string
		wantCode int
		check    func(t *testing.T, w *httptest.ResponseRecorder)
	}{
		"the key set is served as JSON": {target: "/jwks.json", wantCode: 200, check: func(t *testing.T, w *httptest.ResponseRecorder) {
			assert.JSONEq(t, `{"keys":[{"kty":"EC"}]}`, w.Body.String())
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			assert.Equal(t, oidc.CacheControl, w.Header().Get("Cache-Control"))
		}},
		"a prefix moves both endpoints and the default jwks_uri": {
			opts: oidc.HandlerOptions{PathPrefix: "/oidc/"}, target: "/oidc/.well-known/openid-configuration", wantCode: 200,
			check: func(t *testing.T, w *httptest.ResponseRecorder) {
				assert.Equal(t, issuer+"/oidc/jwks.json", discovery(t, w).JWKSURI)
			},
		},
		"with a prefix the key set is under it":      {opts: oidc.HandlerOptions{PathPrefix: "oidc"}, target: "/oidc/jwks.json", wantCode: 200},
		"with a prefix the bare paths are not found": {opts: oidc.HandlerOptions{PathPrefix: "/oidc"}, target: "/jwks.json", wantCode: 404},
		"a prefix of / is no prefix":                 {opts: oidc.HandlerOptions{PathPrefix: "/"}, target: "/jwks.json", wantCode: 200},
		"an explicit JWKS URI is advertised as is": {
			opts: oidc.HandlerOptions{JWKSURI: "https://cdn.example.com/keys"}, target: "/.well-known/openid-configuration", wantCode: 200,
			check: func(t *testing.T, w *httptest.ResponseRecorder) {
				assert.Equal(t, "https://cdn.example.com/keys", discovery(t, w).JWKSURI)
			},
		},
		"the issuer's own path is not repeated in the default jwks_uri": {
			opts: oidc.HandlerOptions{Issuer: "https://sentry.example.com/oidc", PathPrefix: "/oidc"}, target: "/oidc/.well-known/openid-configuration", wantCode: 200,
			check: func(t *testing.T, w *httptest.ResponseRecorder) {
				d := discovery(t, w)
				assert.Equal(t, "https://sentry.example.com/oidc", d.Issuer)
				assert.Equal(t, "https://sentry.example.com/oidc/jwks.json", d.JWKSURI)
			},
		},
		"other paths are not found":          {target: "/authorize", wantCode: 404},
		"POST is not allowed":                {method: http.MethodPost, target: "/jwks.json", wantCode: 405, check: allowGET},
		"DELETE on discovery is not allowed": {method: http.MethodDelete, target: "/.well-known/openid-configuration", wantCode: 405, check: allowGET},
		"a host outside the allowlist is forbidden": {
			opts: oidc.HandlerOptions{AllowedHosts: []string{"sentry.example.com"}}, target: "/jwks.json",
			header: map[string]string{"Host": "evil.example.com"}, wantCode: 403,
			check: func(t *testing.T, w *httptest.ResponseRecorder) {
				assert.Contains(t, w.Body.String(), "unauthorized domain")
			},
		},
		"an allowed host with a port is served": {
			opts: oidc.HandlerOptions{AllowedHosts: []string{"Sentry.Example.com"}}, target: "/jwks.json",
			header: map[string]string{"Host": "sentry.example.com:9080"}, wantCode: 200,
		},
		"an explicit allowlist believes X-Forwarded-Host": {
			opts: oidc.HandlerOptions{AllowedHosts: []string{"sentry.example.com"}}, target: "/jwks.json",
			header: map[string]string{"Host": "10.0.0.7:9080", "X-Forwarded-Host": "sentry.example.com"}, wantCode: 200,
		},
		"an explicit allowlist checks X-Forwarded-Host over Host": {
			opts: oidc.HandlerOptions{AllowedHosts: []string{"sentry.example.com"}}, target: "/jwks.json",
			header: map[string]string{"Host": "sentry.example.com", "X-Forwarded-Host": "evil.example.com"}, wantCode: 403,
		},
		"a wildcard allows any host": {
			opts: oidc.HandlerOptions{AllowedHosts: []string{"*"}}, target: "/jwks.json",
			header: map[string]string{"Host": "anything", "X-Forwarded-Host": "evil.example.com"}, wantCode: 200,
		},
		"no key set answers 404": {
			opts: oidc.HandlerOptions{Source: newSource("")}, target: "/jwks.json", wantCode: 404,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			w := get(newHandler(t, tc.opts), method, tc.target, tc.header)
			require.Equal(t, tc.wantCode, w.Code, w.Body.String())
			if tc.check != nil {
				tc.check(t, w)
			}
		})
	}
}

func allowGET(t *testing.T, w *httptest.ResponseRecorder) {
	assert.Equal(t, http.MethodGet, w.Header().Get("Allow"))
}

func TestKeySetFollowsTheSource(t *testing.T) {
	src := newSource(`{"keys":[{"kid":"old"}]}`)
	h := newHandler(t, oidc.HandlerOptions{Source: src})
	assert.Contains(t, get(h, http.MethodGet, "/jwks.json", nil).Body.String(), `"old"`)
	src.set(`{"keys":[{"kid":"old"},{"kid":"new"}]}`)
	body := get(h, http.MethodGet, "/jwks.json", nil).Body.String()
	assert.Contains(t, body, `"old"`)
	assert.Contains(t, body, `"new"`, "a rotation's new key is published at once")
}

func TestNewHandlerRefusesBadOptions(t *testing.T) {
	tests := map[string]oidc.HandlerOptions{
		"no source":                 {Issuer: issuer},
		"an issuer that is no URI":  {Source: newSource("{}"), Issuer: "https://a b/%zz"},
		"a JWKS URI that is no URI": {Source: newSource("{}"), Issuer: issuer, JWKSURI: "%zz"},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := oidc.NewHandler(opts)
			require.Error(t, err)
		})
	}
}

// Dapr's chart passes these values; Dapr's sentry accepts them.
func TestDiscoveryWithDaprStyleValues(t *testing.T) {
	tests := map[string]struct {
		opts       oidc.HandlerOptions
		header     map[string]string
		wantIssuer string
		wantJWKS   string
	}{
		"no issuer: the request's scheme and host, as Dapr derives it": {
			header:     map[string]string{"Host": "sentry.example.com:9080"},
			wantIssuer: "http://sentry.example.com:9080", wantJWKS: "http://sentry.example.com:9080/jwks.json",
		},
		"no issuer on a TLS server: https": {
			opts:       oidc.HandlerOptions{TLS: true, PathPrefix: "/oidc"},
			header:     map[string]string{"Host": "sentry.example.com"},
			wantIssuer: "https://sentry.example.com", wantJWKS: "https://sentry.example.com/oidc/jwks.json",
		},
		"no issuer: X-Forwarded-Host is believed only with an explicit allowlist": {
			opts:       oidc.HandlerOptions{AllowedHosts: []string{"public.example.com"}},
			header:     map[string]string{"Host": "10.0.0.7:9080", "X-Forwarded-Host": "public.example.com"},
			wantIssuer: "http://public.example.com", wantJWKS: "http://public.example.com/jwks.json",
		},
		"no issuer: X-Forwarded-Host is ignored when any host is allowed": {
			header:     map[string]string{"Host": "sentry.local", "X-Forwarded-Host": "evil.example.com"},
			wantIssuer: "http://sentry.local", wantJWKS: "http://sentry.local/jwks.json",
		},
		"an issuer that is not a URL is kept as given": {
			opts:       oidc.HandlerOptions{Issuer: "dapr.io"},
			header:     map[string]string{"Host": "sentry.local"},
			wantIssuer: "dapr.io", wantJWKS: "http://sentry.local/jwks.json",
		},
		"a relative JWKS URI is advertised as given": {
			opts:       oidc.HandlerOptions{Issuer: "dapr.io", JWKSURI: "/v1/jwks"},
			wantIssuer: "dapr.io", wantJWKS: "/v1/jwks",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			opts := tc.opts
			opts.Source = newSource(`{"keys":[{"kty":"EC"}]}`)
			h, err := oidc.NewHandler(opts)
			require.NoError(t, err)
			target := "/.well-known/openid-configuration"
			if opts.PathPrefix != "" {
				target = opts.PathPrefix + target
			}
			d := discovery(t, get(h, http.MethodGet, target, tc.header))
			assert.Equal(t, tc.wantIssuer, d.Issuer)
			assert.Equal(t, tc.wantJWKS, d.JWKSURI)
		})
	}
}
