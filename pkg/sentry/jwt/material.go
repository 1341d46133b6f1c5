package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Errors callers branch on. They come wrapped in an *Error naming the file
// at fault.
var (
	// ErrMalformed means jwt.key or jwks.json cannot be read.
	ErrMalformed = errors.New("malformed")
	// ErrPrivateKeyInJWKS means jwks.json holds private key material, which
	// must never be published.
	ErrPrivateKeyInJWKS = errors.New("the key set holds a private key")
	// ErrKeyNotInJWKS means jwks.json has no entry for the signing key (or
	// none with the required key ID and the signing key's public key).
	ErrKeyNotInJWKS = errors.New("the signing key is not in the key set")
	// ErrAlgorithm means the signing algorithm does not fit the key, or is
	// not supported.
	ErrAlgorithm = errors.New("unsupported signing algorithm")
)

// Part names one of the two files of the JWT material.
type Part string

// The parts, as an *Error names them.
const (
	PartKey  Part = "jwt key"
	PartJWKS Part = "jwks"
)

// Error says which file of the material is wrong and why.
type Error struct {
	// Part is the file at fault.
	Part Part
	// Err is the problem, wrapping one of the package's sentinel errors.
	Err error
}

// Error returns "<part>: <problem>".
func (e *Error) Error() string { return string(e.Part) + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *Error) Unwrap() error { return e.Err }

func partErr(p Part, format string, args ...any) error {
	return &Error{Part: p, Err: fmt.Errorf(format, args...)}
}

// Material is the JWT signing material of a trust bundle. It is not
// modified after it is built, so it is safe to share.
type Material struct {
	// KeyPEM is jwt.key as stored.
	KeyPEM []byte
	// JWKSJSON is jwks.json as stored.
	JWKSJSON []byte
	// KeyID is the kid tokens carry: the kid of the key set's entry for the
	// signing key (empty if that entry has none).
	KeyID string
	// Algorithm is the signing algorithm.
	Algorithm jwa.SignatureAlgorithm

	signer jwk.Key
	public []byte // the key set re-encoded, public members only
	keys   int
}

// ParseOptions configures ParseMaterial.
type ParseOptions struct {
	// KeyID, when set, is the kid the signing key must have in the key set.
	// Default: the kid of the entry holding the signing key's public key.
	KeyID string
	// Algorithm, when set, is the algorithm to sign with; it must fit the
	// key, and the entry's "alg", if any. Default: the entry's "alg", else
	// the key type's usual one (RS256, ES256/384/512, EdDSA).
	Algorithm jwa.SignatureAlgorithm
}

// ParseMaterial reads jwt.key and jwks.json and checks that they belong
// together. Any problem is an *Error naming the file at fault.
func ParseMaterial(keyPEM, jwksJSON []byte, opts ParseOptions) (*Material, error) {
	raw, err := parseKey(keyPEM)
	if err != nil {
		return nil, &Error{Part: PartKey, Err: err}
	}
	set, err := ParseJWKS(jwksJSON)
	if err != nil {
		return nil, &Error{Part: PartJWKS, Err: err}
	}
	entry, err := findEntry(set, raw.Public(), opts.KeyID)
	if err != nil {
		return nil, err
	}
	alg, err := chooseAlgorithm(raw, entry, opts.Algorithm)
	if err != nil {
		return nil, err
	}
	signer, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, partErr(PartKey, "%w: %w", ErrMalformed, err)
	}
	kid := entry.KeyID()
	if kid != "" {
		if err := signer.Set(jwk.KeyIDKey, kid); err != nil {
			return nil, partErr(PartKey, "set key ID: %w", err)
		}
	}
	if err := signer.Set(jwk.AlgorithmKey, alg); err != nil {
		return nil, partErr(PartKey, "set algorithm: %w", err)
	}
	public, err := json.Marshal(set)
	if err != nil {
		return nil, partErr(PartJWKS, "encode key set: %w", err)
	}
	return &Material{
		KeyPEM:    bytes.Clone(keyPEM),
		JWKSJSON:  bytes.Clone(jwksJSON),
		KeyID:     kid,
		Algorithm: alg,
		signer:    signer,
		public:    public,
		keys:      set.Len(),
	}, nil
}

// ParseJWKS reads a JSON Web Key Set holding only public keys. It refuses
// private or symmetric keys (they must never be published), an empty set
// and anything that is not a {"keys": [...]} object.
func ParseJWKS(data []byte) (jwk.Set, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	var probe struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(probe.Keys) == 0 {
		return nil, fmt.Errorf(`%w: no "keys" member: want a JWK Set, {"keys": [...]}`, ErrMalformed)
	}
	set, err := jwk.Parse(trimmed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("%w: the key set is empty", ErrMalformed)
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		private, err := jwk.IsPrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d (kid %q): a %s key cannot verify signatures of a public issuer", ErrPrivateKeyInJWKS, i+1, k.KeyID(), k.KeyType())
		}
		if private {
			return nil, fmt.Errorf("%w: key %d (kid %q) holds private members; publish only public keys", ErrPrivateKeyInJWKS, i+1, k.KeyID())
		}
	}
	return set, nil
}

// findEntry returns the set's entry for pub: with the required kid when one
// is given. Entries meant for anything but signatures are skipped.
func findEntry(set jwk.Set, pub crypto.PublicKey, kid string) (jwk.Key, error) {
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kids = append(kids, fmt.Sprintf("%q", k.KeyID()))
		if u := k.KeyUsage(); u != "" && u != string(jwk.ForSignature) {
			continue
		}
		if kid != "" && k.KeyID() != kid {
			continue
		}
		var raw any
		if err := k.Raw(&raw); err != nil {
			continue
		}
		if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(raw) {
			return k, nil
		}
		if kid != "" {
			return nil, partErr(PartJWKS, "%w: the entry with kid %q holds another public key than jwt.key's", ErrKeyNotInJWKS, kid)
		}
	}
	if kid != "" {
		return nil, partErr(PartJWKS, "%w: no entry with kid %q (kids found: %s)", ErrKeyNotInJWKS, kid, strings.Join(kids, ", "))
	}
	return nil, partErr(PartJWKS, "%w: no entry holds jwt.key's public key (kids found: %s); add it to the key set", ErrKeyNotInJWKS, strings.Join(kids, ", "))
}

// chooseAlgorithm picks the signing algorithm and checks that it fits key.
func chooseAlgorithm(key crypto.Signer, entry jwk.Key, want jwa.SignatureAlgorithm) (jwa.SignatureAlgorithm, error) {
	entryAlg := jwa.SignatureAlgorithm(entry.Algorithm().String())
	alg := want
	switch {
	case alg == "" && entryAlg != "":
		alg = entryAlg
	case alg == "":
		alg = defaultAlgorithm(key)
	case entryAlg != "" && entryAlg != alg:
		return "", partErr(PartJWKS, "%w: the key set's entry says alg %s but %s is asked for", ErrAlgorithm, entryAlg, alg)
	}
	if err := CheckAlgorithm(alg, key.Public()); err != nil {
		return "", &Error{Part: PartKey, Err: err}
	}
	return alg, nil
}

func defaultAlgorithm(key crypto.Signer) jwa.SignatureAlgorithm {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P384():
			return jwa.ES384
		case elliptic.P521():
			return jwa.ES512
		}
		return jwa.ES256
	case ed25519.PrivateKey:
		return jwa.EdDSA
	}
	return jwa.RS256
}

// Algorithms are the signing algorithms Sentry signs with.
var Algorithms = []jwa.SignatureAlgorithm{
	jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512,
	jwa.ES256, jwa.ES384, jwa.ES512, jwa.EdDSA,
}

// minRSABits is the smallest RSA key Sentry signs with.
const minRSABits = 2048

// CheckAlgorithm reports whether alg can sign with a key whose public key is
// pub (nil checks only that alg is supported).
func CheckAlgorithm(alg jwa.SignatureAlgorithm, pub crypto.PublicKey) error {
	var fits bool
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		k, ok := pub.(*rsa.PublicKey)
		if ok && k.N.BitLen() < minRSABits {
			return fmt.Errorf("%w: an RSA key of %d bits is too small; use at least %d", ErrAlgorithm, k.N.BitLen(), minRSABits)
		}
		fits = ok
	case jwa.ES256, jwa.ES384, jwa.ES512:
		curve := map[jwa.SignatureAlgorithm]elliptic.Curve{jwa.ES256: elliptic.P256(), jwa.ES384: elliptic.P384(), jwa.ES512: elliptic.P521()}[alg]
		k, ok := pub.(*ecdsa.PublicKey)
		fits = ok && k.Curve == curve
	case jwa.EdDSA:
		_, fits = pub.(ed25519.PublicKey)
	default:
		return fmt.Errorf("%w: %q; use one of %s", ErrAlgorithm, alg, algorithmNames())
	}
	if pub != nil && !fits {
		return fmt.Errorf("%w: %s does not fit a %s key", ErrAlgorithm, alg, keyKind(pub))
	}
	return nil
}

func algorithmNames() string {
	names := make([]string, len(Algorithms))
	for i, a := range Algorithms {
		names[i] = a.String()
	}
	return strings.Join(names, ", ")
}

func keyKind(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// parseKey reads the one private key of a PEM file.
func parseKey(data []byte) (crypto.Signer, error) {
	var (
		key   any
		found int
	)
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var err error
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			return nil, fmt.Errorf("%w: PEM block %d is a %q; want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY", ErrMalformed, n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s block %d: %w", ErrMalformed, block.Type, n, err)
		}
		found++
	}
	switch {
	case found == 0:
		return nil, fmt.Errorf("%w: no PEM private key block found", ErrMalformed)
	case found > 1:
		return nil, fmt.Errorf("%w: %d private keys found; the file must hold only the signing key", ErrMalformed, found)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: a %T cannot sign tokens; use an RSA, ECDSA or Ed25519 key", ErrMalformed, key)
}

// Equal reports whether m and o were read from the same bytes.
func (m *Material) Equal(o *Material) bool {
	if m == nil || o == nil {
		return m == o
	}
	return bytes.Equal(m.KeyPEM, o.KeyPEM) && bytes.Equal(m.JWKSJSON, o.JWKSJSON)
}

// PublicJWKS is the key set to publish: every key of jwks.json, re-encoded
// with public members only.
func (m *Material) PublicJWKS() []byte { return bytes.Clone(m.public) }

// Keys is the number of keys in the key set (more than one during a
// rotation).
func (m *Material) Keys() int { return m.keys }
