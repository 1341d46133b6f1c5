package server

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/trustplane/trustplane/pkg/log"
)

// Errors of DecodeCSR.
var (
	ErrCSRNotPEM        = errors.New("certificate signing request is not PEM")
	ErrCSRWrongPEMType  = errors.New("PEM block is not a CERTIFICATE REQUEST")
	ErrCSRBadSignature  = errors.New("certificate signing request signature is invalid")
	ErrCSRUnsupportedPK = errors.New("certificate signing request key type is not supported")
	ErrCSRKeyPolicy     = errors.New("key not allowed")
)

// DecodeCSR parses a PEM certificate signing request and verifies its
// self-signature. Only the public key is used by Sentry: the subject, SANs
// and extensions a caller put in the CSR are ignored. Like Dapr it accepts
// the legacy PEM type CERTIFICATE for old clients. The key must meet the
// key policy (checkKeyPolicy), which is checked before the signature.
func DecodeCSR(data []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, ErrCSRNotPEM
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" && block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: %q", ErrCSRWrongPEMType, block.Type)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse certificate signing request: %w", err)
	}
	if csr.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm || csr.PublicKey == nil {
		return nil, fmt.Errorf("failed to parse certificate signing request: %w", ErrCSRUnsupportedPK)
	}
	if err := checkKeyPolicy(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("failed to parse certificate signing request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCSRBadSignature, err)
	}
	return csr, nil
}

// csrMessage is what the caller is told about a CSR DecodeCSR refused, in
// Dapr's words: the parser's own reason is bounded.
func csrMessage(err error) string {
	switch {
	case errors.Is(err, ErrCSRNotPEM), errors.Is(err, ErrCSRWrongPEMType):
		return "invalid certificate signing request"
	case errors.Is(err, ErrCSRBadSignature):
		return "invalid signature"
	}
	return log.Bound(err.Error())
}
