package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.uber.org/zap"
)

// Paths of the endpoints, under the prefix.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/jwks.json"
)

// CacheControl is sent with every document. Five minutes, shorter than
// Dapr's hour, so that a rotation's new key reaches relying parties soon.
const CacheControl = "public, max-age=300"

// Source gives what the endpoints publish; *jwt.Issuer is the
// implementation.
type Source interface {
	// PublicJWKS is the key set in force, public members only.
	PublicJWKS() []byte
	// Algorithm is the signing algorithm in force.
	Algorithm() string
}

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	// Source gives the key set and algorithm. Required.
	Source Source
	// Issuer is the tokens' "iss" and the document's issuer, as given (Dapr
	// accepts any value, such as "dapr.io"). Empty: like Dapr, the issuer is
	// the request's scheme and host (an allowed host, see AllowedHosts).
	Issuer string
	// JWKSURI overrides the document's jwks_uri; it may be relative, such
	// as "/v1/jwks" behind a proxy. Default: the endpoint's path under the
	// issuer's scheme and host when the issuer is an absolute http(s) URL,
	// else under the request's.
	JWKSURI string
	// TLS tells the scheme of a request-derived issuer: https when the
	// server terminates TLS itself.
	TLS bool
	// PathPrefix is put before both paths ("/" or empty: none).
	PathPrefix string
	// AllowedHosts, when set, are the only hosts served (exact, or the name
	// without the port); "*" allows any.
	AllowedHosts []string
	// Logger receives refusals at debug level. Default: none.
	Logger *zap.Logger
}

// Discovery is the discovery document served.
type Discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                  []string `json:"scopes_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
}

type handler struct {
	opts          HandlerOptions
	discoveryPath string
	jwksPath      string
	jwksURI       string // fixed jwks_uri; empty: derived per request
	trustForward  bool
	anyHost       bool
}

// NewHandler checks opts and returns the endpoints' handler.
func NewHandler(opts HandlerOptions) (http.Handler, error) {
	if opts.Source == nil {
		return nil, errors.New("oidc: Source is required")
	}
	prefix := "/" + strings.Trim(opts.PathPrefix, "/")
	if prefix == "/" {
		prefix = ""
	}
	h := &handler{opts: opts, discoveryPath: prefix + DiscoveryPath, jwksPath: prefix + JWKSPath, jwksURI: opts.JWKSURI}
	if h.jwksURI != "" {
		if _, err := url.Parse(h.jwksURI); err != nil {
			return nil, fmt.Errorf("oidc: JWKS URI %q: %w", h.jwksURI, err)
		}
	}
	if opts.Issuer != "" {
		iss, err := url.Parse(opts.Issuer)
		if err != nil {
			return nil, fmt.Errorf("oidc: issuer %q: %w", opts.Issuer, err)
		}
		if (iss.Scheme == "https" || iss.Scheme == "http") && iss.Host != "" {
			if h.jwksURI == "" {
				h.jwksURI = (&url.URL{Scheme: iss.Scheme, Host: iss.Host, Path: h.jwksPath}).String()
			}
		}
	}
	for _, a := range opts.AllowedHosts {
		if a == "*" {
			h.anyHost = true
		}
	}
	h.anyHost = h.anyHost || len(opts.AllowedHosts) == 0
	h.trustForward = !h.anyHost
	if h.opts.Logger == nil {
		h.opts.Logger = zap.NewNop()
	}
	return h, nil
}

// ServeHTTP answers the two endpoints.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.discoveryPath && r.URL.Path != h.jwksPath {
		http.NotFound(w, r)
		return
	}
	if host := h.host(r); !h.allowed(host) {
		h.opts.Logger.Debug("Refused an OIDC request for a host not allowed", zap.String("host", host))
		http.Error(w, "Forbidden: unauthorized domain", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var body []byte
	if r.URL.Path == h.jwksPath {
		body = h.opts.Source.PublicJWKS()
	} else {
		body = h.discovery(h.requestBase(r))
	}
	if len(body) == 0 {
		http.Error(w, "JWKS not available", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", CacheControl)
	_, _ = w.Write(body)
}

func (h *handler) discovery(base *url.URL) []byte {
	alg := h.opts.Source.Algorithm()
	if alg == "" {
		return nil
	}
	issuer, jwksURI := h.opts.Issuer, h.jwksURI
	if issuer == "" {
		issuer = base.String()
	}
	if jwksURI == "" {
		jwksURI = (&url.URL{Scheme: base.Scheme, Host: base.Host, Path: h.jwksPath}).String()
	}
	body, _ := json.Marshal(Discovery{
		Issuer:                           issuer,
		JWKSURI:                          jwksURI,
		ResponseTypesSupported:           []string{"id_token"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{alg},
		ScopesSupported:                  []string{"openid"},
		ClaimsSupported:                  []string{"sub", "iss", "aud", "exp", "iat", "nbf", "use"},
	})
	return body
}

// requestBase is the scheme and host a request-derived issuer or jwks_uri
// uses: the host the client asked for (only an allowed one reaches here).
func (h *handler) requestBase(r *http.Request) *url.URL {
	scheme := "http"
	if h.opts.TLS || r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: h.host(r)}
}

// host is the host the client asked for: X-Forwarded-Host when an explicit
// allowlist makes it safe to believe, else Host.
func (h *handler) host(r *http.Request) string {
	if h.trustForward {
		if f := r.Header.Get("X-Forwarded-Host"); f != "" {
			return strings.TrimSpace(strings.Split(f, ",")[0])
		}
	}
	return r.Host
}

func (h *handler) allowed(host string) bool {
	if h.anyHost {
		return true
	}
	host = strings.ToLower(host)
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		name = n
	}
	return slices.ContainsFunc(h.opts.AllowedHosts, func(a string) bool {
		a = strings.ToLower(a)
		return a == host || a == name
	})
}
