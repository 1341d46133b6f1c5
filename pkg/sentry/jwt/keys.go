package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/trustplane/trustplane/pkg/privatekey"
)

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

// parseKey reads the one private key of a PEM file (see
// privatekey.Parse); its errors wrap ErrMalformed.
func parseKey(data []byte) (crypto.Signer, error) {
	key, err := privatekey.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return key, nil
}
