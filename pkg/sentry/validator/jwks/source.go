package jwks

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// maxKeySetSize bounds a key set read from a file or a URL; real ones are a
// few kilobytes.
const maxKeySetSize = 1 << 20

// sourceKind is where a key set comes from.
type sourceKind int

const (
	sourceInline sourceKind = iota
	sourceFile
	sourceURL
)

// source is a classified Options.Source.
type source struct {
	kind   sourceKind
	url    *url.URL // sourceURL
	path   string   // sourceFile
	inline []byte   // sourceInline: the decoded JSON
}

// parseSource classifies s: a URL by its scheme, inline JSON by its opening
// brace (possibly under base64), and anything else as a file path.
func parseSource(s string) (source, error) {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		u, err := url.Parse(s)
		if err != nil {
			return source{}, fmt.Errorf("%w: source URL: %w", ErrInvalidOptions, err)
		}
		if u.Host == "" {
			return source{}, fmt.Errorf("%w: source URL %q has no host", ErrInvalidOptions, u.Redacted())
		}
		return source{kind: sourceURL, url: u}, nil
	}
	if b, ok := decodeInline(s); ok {
		return source{kind: sourceInline, inline: b}, nil
	}
	if strings.ContainsAny(s, "\n{}") {
		return source{}, fmt.Errorf("%w: source is neither a URL, a file path nor inline JWKS JSON", ErrInvalidOptions)
	}
	return source{kind: sourceFile, path: s}, nil
}

// decodeInline returns the JSON of an inline source: s itself when it opens
// with '{', or s decoded from base64 (standard or URL alphabet, padded or
// not) when that opens with '{'.
func decodeInline(s string) ([]byte, bool) {
	if strings.HasPrefix(s, "{") {
		return []byte(s), true
	}
	trimmed := strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(trimmed)
		if err != nil {
			continue
		}
		if b = bytes.TrimSpace(b); bytes.HasPrefix(b, []byte("{")) {
			return b, true
		}
	}
	return nil, false
}

// ErrNoUsableKeys means a key set parsed but holds no key that can verify a
// token signature.
var ErrNoUsableKeys = errors.New("key set has no usable public signing key")

// parseKeySet parses a JWKS (or a single JWK) and keeps only the public
// parts of its asymmetric signing keys. Symmetric keys are dropped: a
// published key set must not hold shared secrets, and accepting them would
// let anyone who can read the set mint tokens.
func parseKeySet(b []byte) (jwk.Set, error) {
	raw, err := jwk.Parse(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	set := jwk.NewSet()
	for i := range raw.Len() {
		key, _ := raw.Key(i)
		switch key.KeyType() {
		case jwa.RSA, jwa.EC, jwa.OKP:
		default:
			continue
		}
		if u := key.KeyUsage(); u != "" && u != jwk.ForSignature.String() {
			continue
		}
		if alg := key.Algorithm().String(); alg != "" && !isAsymmetricSignature(alg) {
			continue
		}
		pub, err := key.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("parse JWKS: key %d (kid %q): %w", i, key.KeyID(), err)
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("parse JWKS: key %d (kid %q): %w", i, key.KeyID(), err)
		}
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("parse JWKS: %w (%d keys read)", ErrNoUsableKeys, raw.Len())
	}
	return set, nil
}

// isAsymmetricSignature tells whether alg is a public-key JWS algorithm.
func isAsymmetricSignature(alg string) bool {
	switch jwa.SignatureAlgorithm(alg) {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.ES256, jwa.ES384, jwa.ES512, jwa.ES256K, jwa.EdDSA:
		return true
	}
	return false
}

// loadCAPool reads CACertificate: PEM itself, or the path of a PEM file.
// Empty means the system roots (a nil pool).
func loadCAPool(ca string) (*x509.CertPool, error) {
	ca = strings.TrimSpace(ca)
	if ca == "" {
		return nil, nil
	}
	pemBytes := []byte(ca)
	if !strings.HasPrefix(ca, "-----BEGIN") {
		b, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("%w: read %s file: %w", ErrInvalidOptions, OptionCACertificate, err)
		}
		pemBytes = b
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrInvalidOptions, OptionCACertificate)
	}
	return pool, nil
}
