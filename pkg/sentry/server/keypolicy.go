package server

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
)

// The RSA key sizes a CSR may carry. Dapr's clients use Ed25519 (daprd,
// placement, scheduler) or RSA 2048 (dapr/kit's RSA option); 8192 bounds
// the cost of checking the CSR's signature.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// checkKeyPolicy refuses the public keys a workload certificate must not
// certify: RSA outside MinRSABits–MaxRSABits, ECDSA on another curve than
// P-256, P-384 or P-521, and every other kind but Ed25519.
func checkKeyPolicy(pub any) error {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("%w: ECDSA curve %s, use P-256, P-384 or P-521", ErrCSRKeyPolicy, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < MinRSABits || n > MaxRSABits {
			return fmt.Errorf("%w: RSA key of %d bits, use %d to %d", ErrCSRKeyPolicy, n, MinRSABits, MaxRSABits)
		}
		return nil
	}
	return fmt.Errorf("%w: %T keys are not allowed", ErrCSRKeyPolicy, pub)
}
