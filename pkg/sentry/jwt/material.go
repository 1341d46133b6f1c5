package jwt

import (
	"bytes"
	"crypto"
	"encoding/json"
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
