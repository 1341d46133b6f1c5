package renew

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrKey is wrapped by every problem with a root private key file.
var ErrKey = errors.New("invalid root private key")

// ParseKey reads the one private key of a PEM file: PKCS#8 ("PRIVATE
// KEY"), SEC1 ("EC PRIVATE KEY"; an "EC PARAMETERS" block beside it is
// skipped) or PKCS#1 ("RSA PRIVATE KEY"), holding an ECDSA, RSA or Ed25519
// key. Encrypted keys, certificates and several keys are refused.
func ParseKey(data []byte) (crypto.Signer, error) {
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
		if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("%w: PEM block %d is encrypted; decrypt it first (openssl pkcs8 -topk8 -nocrypt)", ErrKey, n)
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
			return nil, fmt.Errorf("%w: PEM block %d is a %q; want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY", ErrKey, n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s block %d: %w", ErrKey, block.Type, n, err)
		}
		found++
	}
	switch {
	case found == 0:
		return nil, fmt.Errorf("%w: no PEM private key block found", ErrKey)
	case found > 1:
		return nil, fmt.Errorf("%w: %d private keys found; the file must hold only the root key", ErrKey, found)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: a %T cannot sign certificates; use an ECDSA, RSA or Ed25519 key", ErrKey, key)
}
