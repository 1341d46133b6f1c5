package app

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/spf13/pflag"

	"github.com/trustplane/trustplane/pkg/sentry"
	"github.com/trustplane/trustplane/pkg/sentry/ca/store/file"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/sentry/oidc"
)

// JWTFlags are the JWT-SVID and OIDC discovery flags, named as Dapr's.
type JWTFlags struct {
	// Enabled turns on JWT-SVID issuance.
	Enabled bool
	// KeyFile and JWKSFile name the signing key and key set in
	// --issuer-credentials (an absolute path overrides the directory); their
	// base names are the Secret keys in Kubernetes mode.
	KeyFile, JWKSFile string
	// Issuer is the tokens' "iss" and the discovery document's issuer;
	// IssuerSet tells that the flag was given (even empty), as Dapr does.
	Issuer    string
	IssuerSet bool
	// SigningAlgorithm is the algorithm of a generated key (default RS256)
	// and, when set, the one a stored key must use.
	SigningAlgorithm string
	// KeyID is the kid of a generated key and, when set, the kid a stored
	// key must have in the key set.
	KeyID string
	// TTL is the longest lifetime of a token.
	TTL time.Duration

	// OIDCEnabled serves the discovery document and key set.
	OIDCEnabled bool
	// OIDCPort and OIDCAddress are where the OIDC server listens.
	OIDCPort    int
	OIDCAddress string
	// OIDCTLSEnabled requires OIDCTLSCertFile and OIDCTLSKeyFile; false
	// serves plain HTTP behind a TLS-terminating proxy (unless both files
	// are given anyway).
	OIDCTLSEnabled                  bool
	OIDCTLSCertFile, OIDCTLSKeyFile string
	// OIDCJWKSURI overrides the discovery document's jwks_uri.
	OIDCJWKSURI string
	// OIDCPathPrefix is put before both endpoints.
	OIDCPathPrefix string
	// OIDCAllowedHosts are the only hosts served ("*": any).
	OIDCAllowedHosts []string
}

// defaultJWTFlags are the defaults, Dapr's.
func defaultJWTFlags() JWTFlags {
	return JWTFlags{
		KeyFile: file.DefaultJWTKeyFile, JWKSFile: file.DefaultJWKSFile, TTL: jwt.DefaultTTL,
		OIDCPort: 9080, OIDCAddress: "localhost", OIDCTLSEnabled: true,
	}
}

func (f *JWTFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.Enabled, "jwt-enabled", f.Enabled, "Issue JWT-SVIDs with each certificate; the signing key is generated and stored when the trust bundle has none")
	fs.StringVar(&f.KeyFile, "jwt-key-filename", f.KeyFile, "JWT signing key file name in --issuer-credentials (absolute: any path); its base name is the Secret key in Kubernetes mode")
	fs.StringVar(&f.JWKSFile, "jwks-filename", f.JWKSFile, "JWT key set (JWKS) file name in --issuer-credentials (absolute: any path); its base name is the Secret and ConfigMap key in Kubernetes mode")
	fs.StringVar(&f.Issuer, "jwt-issuer", f.Issuer, "The JWTs' iss claim and the OIDC issuer, any string (empty: no iss claim, and OIDC discovery names the requested scheme and host)")
	fs.StringVar(&f.SigningAlgorithm, "jwt-signing-algorithm", f.SigningAlgorithm, "JWT signing algorithm: RS256 (the default of a generated key), RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA; a stored key must fit it (default: the stored key's)")
	fs.StringVar(&f.KeyID, "jwt-key-id", f.KeyID, "kid of a generated JWT key, and the kid a stored key must have in the key set (default: the base64url SHA-256 JWK thumbprint)")
	fs.DurationVar(&f.TTL, "jwt-ttl", f.TTL, "Longest JWT lifetime; a JWT never outlives its certificate")
	fs.BoolVar(&f.OIDCEnabled, "oidc-enabled", f.OIDCEnabled, "Serve OIDC discovery and the JWKS (needs --jwt-enabled)")
	fs.IntVar(&f.OIDCPort, "oidc-server-listen-port", f.OIDCPort, "OIDC server port")
	fs.StringVar(&f.OIDCAddress, "oidc-server-listen-address", f.OIDCAddress, "OIDC server listen address")
	fs.BoolVar(&f.OIDCTLSEnabled, "oidc-server-tls-enabled", f.OIDCTLSEnabled, "Serve OIDC over TLS (needs the certificate and key files); false serves plain HTTP behind a TLS-terminating proxy")
	fs.StringVar(&f.OIDCTLSCertFile, "oidc-server-tls-cert-file", f.OIDCTLSCertFile, "OIDC server TLS certificate (PEM), re-read when it changes")
	fs.StringVar(&f.OIDCTLSKeyFile, "oidc-server-tls-key-file", f.OIDCTLSKeyFile, "OIDC server TLS key (PEM)")
	fs.StringVar(&f.OIDCJWKSURI, "oidc-jwks-uri", f.OIDCJWKSURI, "jwks_uri of the discovery document, absolute or relative (default: the issuer's scheme and host when it is an http(s) URL, else the requested ones, then the path prefix and /jwks.json)")
	fs.StringVar(&f.OIDCPathPrefix, "oidc-path-prefix", f.OIDCPathPrefix, "Path prefix of the OIDC endpoints")
	fs.StringSliceVar(&f.OIDCAllowedHosts, "oidc-allowed-hosts", f.OIDCAllowedHosts, "Hosts the OIDC server answers (comma-separated; \"*\": any; default any); X-Forwarded-Host is believed only with an explicit list")
}

// validate checks the JWT and OIDC flags together.
func (f *JWTFlags) validate() []error {
	var errs []error
	if !f.Enabled {
		if f.IssuerSet {
			errs = append(errs, errors.New("jwt-issuer cannot be set when jwt-enabled is false"))
		}
		if f.OIDCEnabled {
			errs = append(errs, errors.New("--oidc-enabled needs --jwt-enabled"))
		}
		return errs
	}
	if f.SigningAlgorithm != "" {
		if err := jwt.CheckAlgorithm(jwa.SignatureAlgorithm(f.SigningAlgorithm), nil); err != nil {
			errs = append(errs, fmt.Errorf("--jwt-signing-algorithm: %w", err))
		}
	}
	if f.TTL <= 0 {
		errs = append(errs, fmt.Errorf("--jwt-ttl %s: must be positive", f.TTL))
	}
	if f.KeyFile == "" || f.JWKSFile == "" {
		errs = append(errs, errors.New("--jwt-key-filename and --jwks-filename must not be empty"))
	}
	// Like Dapr's, the issuer is any string ("dapr.io" is common) and the
	// JWKS URI any URI reference, relative ones included.
	if _, err := url.Parse(f.Issuer); err != nil {
		errs = append(errs, fmt.Errorf("--jwt-issuer: %w", err))
	}
	if !f.OIDCEnabled {
		return errs
	}
	if _, err := url.Parse(f.OIDCJWKSURI); err != nil {
		errs = append(errs, fmt.Errorf("--oidc-jwks-uri: %w", err))
	}
	if f.OIDCPort <= 0 || f.OIDCPort > 65535 {
		errs = append(errs, fmt.Errorf("--oidc-server-listen-port %d: not a port", f.OIDCPort))
	}
	switch {
	case (f.OIDCTLSCertFile == "") != (f.OIDCTLSKeyFile == ""):
		errs = append(errs, errors.New("--oidc-server-tls-cert-file and --oidc-server-tls-key-file go together"))
	case f.OIDCTLSEnabled && f.OIDCTLSCertFile == "":
		errs = append(errs, errors.New("--oidc-server-tls-enabled needs --oidc-server-tls-cert-file and --oidc-server-tls-key-file (or --oidc-server-tls-enabled=false behind a TLS-terminating proxy)"))
	}
	return errs
}

func (f *JWTFlags) parseOptions() jwt.ParseOptions {
	return jwt.ParseOptions{KeyID: f.KeyID, Algorithm: jwa.SignatureAlgorithm(f.SigningAlgorithm)}
}

// fileOptions are the file store's JWT options; nil when JWT is off.
func (f *JWTFlags) fileOptions() *file.JWTOptions {
	if !f.Enabled {
		return nil
	}
	return &file.JWTOptions{KeyFile: f.KeyFile, JWKSFile: f.JWKSFile, Parse: f.parseOptions()}
}

// sentryOptions are Sentry's JWT options; nil when JWT is off.
func (f *JWTFlags) sentryOptions() *sentry.JWTOptions {
	if !f.Enabled {
		return nil
	}
	o := &sentry.JWTOptions{Issuer: f.Issuer, TTL: f.TTL, Algorithm: jwa.SignatureAlgorithm(f.SigningAlgorithm), KeyID: f.KeyID}
	if f.OIDCEnabled {
		o.OIDC = &oidc.Options{
			HandlerOptions: oidc.HandlerOptions{JWKSURI: f.OIDCJWKSURI, PathPrefix: f.OIDCPathPrefix, AllowedHosts: f.OIDCAllowedHosts},
			Address:        hostPort(f.OIDCAddress, f.OIDCPort),
			TLSCertFile:    f.OIDCTLSCertFile, TLSKeyFile: f.OIDCTLSKeyFile,
		}
	}
	return o
}
