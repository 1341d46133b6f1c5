package bundle

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
)

// KeyAlgorithm is the algorithm of a key Sentry generates: the root and
// issuer keys of a generated bundle, and Sentry's serving key.
type KeyAlgorithm string

// The key algorithms. KeyEd25519 is the default, as in Dapr v1.18 (which
// moved its CA from ECDSA P-256 to Ed25519); KeyECDSAP256 is for clients
// or policies that need NIST curves.
const (
	KeyEd25519   KeyAlgorithm = "ed25519"
	KeyECDSAP256 KeyAlgorithm = "ecdsa-p256"
)

// KeyAlgorithms lists the accepted values.
var KeyAlgorithms = []KeyAlgorithm{KeyEd25519, KeyECDSAP256}

// GenerateKey returns a new key of alg; empty means KeyEd25519.
func GenerateKey(alg KeyAlgorithm) (crypto.Signer, error) {
	switch alg {
	case "", KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("key algorithm %q: use %s or %s", alg, KeyEd25519, KeyECDSAP256)
}
