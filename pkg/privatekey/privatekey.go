package privatekey

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

// ErrInvalid is wrapped by every problem Parse reports.
var ErrInvalid = errors.New("invalid private key")

// Parse reads the one private key of a PEM file: PKCS#8 ("PRIVATE KEY"),
// SEC1 ("EC PRIVATE KEY"; an "EC PARAMETERS" block beside it, as openssl
// ecparam -genkey writes it, is skipped) or PKCS#1 ("RSA PRIVATE KEY"),
// holding an ECDSA, RSA or Ed25519 key. Encrypted keys, other blocks and
// several keys are refused.
func Parse(data []byte) (crypto.Signer, error) {
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
			return nil, fmt.Errorf("%w: PEM block %d is an encrypted key; store it unencrypted (openssl pkcs8 -topk8 -nocrypt)", ErrInvalid, n)
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
			return nil, fmt.Errorf("%w: PEM block %d is a %q; want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY", ErrInvalid, n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s block %d: %w", ErrInvalid, block.Type, n, err)
		}
		found++
	}
	switch {
	case found == 0:
		return nil, fmt.Errorf("%w: no PEM private key block found", ErrInvalid)
	case found > 1:
		return nil, fmt.Errorf("%w: %d private keys found; the file must hold exactly one key", ErrInvalid, found)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: a %T cannot sign; use an ECDSA, RSA or Ed25519 key", ErrInvalid, key)
}

// Encode writes key as PKCS#8 PEM ("PRIVATE KEY").
func Encode(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
