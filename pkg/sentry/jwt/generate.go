package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/trustplane/trustplane/pkg/privatekey"
)

// DefaultAlgorithm is the algorithm of a generated key, Dapr's.
const DefaultAlgorithm = jwa.RS256

// generatedRSABits is the size of a generated RSA key.
const generatedRSABits = 2048

// GenerateOptions configures Generate.
type GenerateOptions struct {
	// Algorithm picks the key type: RS* and PS* an RSA-2048 key, ES256,
	// ES384 and ES512 an ECDSA key on P-256, P-384 or P-521, EdDSA an
	// Ed25519 key. Default DefaultAlgorithm.
	Algorithm jwa.SignatureAlgorithm
	// KeyID is the new key's kid. Default: its thumbprint (see Thumbprint).
	KeyID string
}

// Generate makes a new signing key and a key set holding its public key
// (use "sig", alg and kid set), encoded for storage: jwt.key as PKCS#8 PEM,
// jwks.json as JSON.
func Generate(opts GenerateOptions) (*Material, error) {
	alg := opts.Algorithm
	if alg == "" {
		alg = DefaultAlgorithm
	}
	if err := CheckAlgorithm(alg, nil); err != nil {
		return nil, fmt.Errorf("generate JWT signing key: %w", err)
	}
	key, err := newKey(alg)
	if err != nil {
		return nil, fmt.Errorf("generate JWT signing key: %w", err)
	}
	keyPEM, err := privatekey.Encode(key)
	if err != nil {
		return nil, fmt.Errorf("encode JWT signing key: %w", err)
	}
	jwks, kid, err := publicSet(key.Public(), alg, opts.KeyID)
	if err != nil {
		return nil, fmt.Errorf("generate JWT key set: %w", err)
	}
	m, err := ParseMaterial(keyPEM, jwks, ParseOptions{KeyID: kid, Algorithm: alg})
	if err != nil {
		return nil, fmt.Errorf("generate JWT signing key: %w", err)
	}
	return m, nil
}

func newKey(alg jwa.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jwa.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.ES384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jwa.ES512:
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jwa.EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return rsa.GenerateKey(rand.Reader, generatedRSABits)
}

// publicSet encodes a one-key set for pub and returns it with the kid used.
func publicSet(pub crypto.PublicKey, alg jwa.SignatureAlgorithm, kid string) ([]byte, string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return nil, "", err
	}
	if kid == "" {
		if kid, err = Thumbprint(k); err != nil {
			return nil, "", err
		}
	}
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: jwk.ForSignature} {
		if err := k.Set(name, v); err != nil {
			return nil, "", fmt.Errorf("set %s: %w", name, err)
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(k); err != nil {
		return nil, "", err
	}
	data, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, "", err
	}
	return append(data, '\n'), kid, nil
}

// Thumbprint is the default key ID of k: the base64url encoding (unpadded)
// of its RFC 7638 SHA-256 JWK thumbprint.
func Thumbprint(k jwk.Key) (string, error) {
	sum, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}
