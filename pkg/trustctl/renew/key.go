package renew

import (
	"crypto"
	"errors"
	"fmt"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// ErrKey is wrapped by every problem with a root private key file.
var ErrKey = errors.New("invalid root private key")

// ParseKey reads the one private key of a PEM file: PKCS#8 ("PRIVATE
// KEY"), SEC1 ("EC PRIVATE KEY"; an "EC PARAMETERS" block beside it is
// skipped) or PKCS#1 ("RSA PRIVATE KEY"), holding an ECDSA, RSA or Ed25519
// key. Encrypted keys, certificates and several keys are refused.
func ParseKey(data []byte) (crypto.Signer, error) {
	key, err := bundle.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return key, nil
}
