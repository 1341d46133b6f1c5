package security

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// KeyType is the algorithm of the workload key generated for each issuance.
type KeyType int

// Key types. The zero value is KeyTypeECDSAP256.
const (
	// KeyTypeECDSAP256 is an ECDSA key on NIST P-256, the default: accepted
	// by every TLS stack a workload is likely to meet.
	KeyTypeECDSAP256 KeyType = iota
	// KeyTypeEd25519 is an Ed25519 key, Dapr 1.18's default.
	KeyTypeEd25519
	// KeyTypeRSA2048 is a 2048-bit RSA key, for peers that accept nothing
	// else (some managed Kubernetes API servers calling webhooks).
	KeyTypeRSA2048
)

// keyTypeNames are the names ParseKeyType accepts and String returns.
var keyTypeNames = map[KeyType]string{
	KeyTypeECDSAP256: "ecdsa-p256",
	KeyTypeEd25519:   "ed25519",
	KeyTypeRSA2048:   "rsa-2048",
}

// String returns the key type's name as ParseKeyType accepts it.
func (k KeyType) String() string {
	if n, ok := keyTypeNames[k]; ok {
		return n
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// ParseKeyType parses "ecdsa-p256", "ed25519" or "rsa-2048" (any case). An
// empty name means KeyTypeECDSAP256.
func ParseKeyType(name string) (KeyType, error) {
	if name == "" {
		return KeyTypeECDSAP256, nil
	}
	for k, n := range keyTypeNames {
		if strings.EqualFold(name, n) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("key type %q: use ecdsa-p256, ed25519 or rsa-2048", name)
}

// pemTypeCSR is the PEM block type Sentry expects for a CSR.
const pemTypeCSR = "CERTIFICATE REQUEST"

// generateKey returns a fresh private key of type k.
func generateKey(k KeyType) (crypto.Signer, error) {
	switch k {
	case KeyTypeECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyTypeEd25519:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	case KeyTypeRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("unknown key type %s", k)
}

// newCSR generates a key of type k and a PEM "CERTIFICATE REQUEST" for it.
// The request's template is empty, as Dapr's is: the subject and SANs of the
// certificate are decided by Sentry from the authenticated request, so
// anything put here would be ignored.
func newCSR(k KeyType) (crypto.Signer, []byte, error) {
	key, err := generateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", k, err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate request: %w", err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: pemTypeCSR, Bytes: der}), nil
}
