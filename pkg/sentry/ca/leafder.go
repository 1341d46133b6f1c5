package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// The fast path below builds the leaf's DER itself and signs it once.
// x509.CreateCertificate verifies every signature it makes against the
// signer's public key, to catch a faulty crypto.Signer such as a broken
// HSM; for an in-memory stdlib key that check is a second ECDSA operation
// per certificate, costlier than the signing itself. Leaves are still
// checked: the tests compare the fast path's TBSCertificate byte for byte
// with CreateCertificate's and verify the signatures.

var (
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidAuthorityKeyID   = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidServerAuth       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}

	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}

	// emptySubject is the DER of an empty Name: SVIDs carry no subject.
	emptySubject = []byte{0x30, 0x00}
	// leafKeyUsage is DigitalSignature as a DER BIT STRING.
	leafKeyUsage = mustMarshal(asn1.BitString{Bytes: []byte{0x80}, BitLength: 1})
	// leafExtKeyUsage is ServerAuth + ClientAuth.
	leafExtKeyUsage = mustMarshal([]asn1.ObjectIdentifier{oidServerAuth, oidClientAuth})
	// leafBasicConstraints is CA:FALSE (the default, so an empty SEQUENCE).
	leafBasicConstraints = []byte{0x30, 0x00}
	// errNoFastPath sends a signing to x509.CreateCertificate.
	errNoFastPath = errors.New("no fast path for this issuer key")
)

type tbsCertificate struct {
	Version            int `asn1:"optional,explicit,default:0,tag:0"`
	SerialNumber       *big.Int
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Issuer             asn1.RawValue
	Validity           validity
	Subject            asn1.RawValue
	PublicKey          asn1.RawValue
	Extensions         []pkix.Extension `asn1:"omitempty,optional,explicit,tag:3"`
}

type validity struct{ NotBefore, NotAfter time.Time }

type certificate struct {
	TBSCertificate     asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	SignatureValue     asn1.BitString
}

type authorityKeyID struct {
	ID []byte `asn1:"optional,tag:0"`
}

// fastSigner signs leaves with one issuer key without x509's self-check.
type fastSigner struct {
	key    crypto.Signer
	alg    pkix.AlgorithmIdentifier
	hash   crypto.Hash // 0 for Ed25519, which signs the message itself
	issuer *x509.Certificate
	aki    []byte // the AuthorityKeyIdentifier extension value, or nil
}

// newFastSigner returns the fast path for the stdlib key types, or
// errNoFastPath for any other signer (an HSM, a KMS).
func newFastSigner(issuer *x509.Certificate, key crypto.Signer) (*fastSigner, error) {
	s := &fastSigner{key: key, issuer: issuer}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			s.alg, s.hash = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}, crypto.SHA256
		case elliptic.P384():
			s.alg, s.hash = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA384}, crypto.SHA384
		case elliptic.P521():
			s.alg, s.hash = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA512}, crypto.SHA512
		default:
			return nil, errNoFastPath
		}
	case ed25519.PrivateKey:
		s.alg = pkix.AlgorithmIdentifier{Algorithm: oidEd25519}
	case *rsa.PrivateKey:
		s.alg = pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue}
		s.hash = crypto.SHA256
	default:
		return nil, errNoFastPath
	}
	if len(issuer.SubjectKeyId) > 0 {
		aki, err := asn1.Marshal(authorityKeyID{ID: issuer.SubjectKeyId})
		if err != nil {
			return nil, fmt.Errorf("encode authority key identifier: %w", err)
		}
		s.aki = aki
	}
	return s, nil
}

// sign returns the DER of the leaf described by tmpl over pub.
func (s *fastSigner) sign(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	san, err := marshalSAN(tmpl)
	if err != nil {
		return nil, err
	}
	exts := []pkix.Extension{
		{Id: oidKeyUsage, Critical: true, Value: leafKeyUsage},
		{Id: oidExtKeyUsage, Value: leafExtKeyUsage},
		{Id: oidBasicConstraints, Critical: true, Value: leafBasicConstraints},
	}
	if s.aki != nil {
		exts = append(exts, pkix.Extension{Id: oidAuthorityKeyID, Value: s.aki})
	}
	// The SANs are critical because the subject is empty (RFC 5280 4.2.1.6).
	exts = append(exts, pkix.Extension{Id: oidSubjectAltName, Critical: true, Value: san})

	tbs, err := asn1.Marshal(tbsCertificate{
		Version:            2,
		SerialNumber:       tmpl.SerialNumber,
		SignatureAlgorithm: s.alg,
		Issuer:             asn1.RawValue{FullBytes: s.issuer.RawSubject},
		Validity:           validity{tmpl.NotBefore.UTC(), tmpl.NotAfter.UTC()},
		Subject:            asn1.RawValue{FullBytes: emptySubject},
		PublicKey:          asn1.RawValue{FullBytes: spki},
		Extensions:         exts,
	})
	if err != nil {
		return nil, fmt.Errorf("encode certificate: %w", err)
	}
	var signature []byte
	switch s.hash {
	case 0:
		signature, err = s.key.Sign(rand.Reader, tbs, crypto.Hash(0))
	default:
		signature, err = s.key.Sign(rand.Reader, digest(s.hash, tbs), s.hash)
	}
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	return asn1.Marshal(certificate{
		TBSCertificate:     asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: s.alg,
		SignatureValue:     asn1.BitString{Bytes: signature, BitLength: len(signature) * 8},
	})
}

func digest(h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA384:
		d := sha512.Sum384(data)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(data)
		return d[:]
	}
	d := sha256.Sum256(data)
	return d[:]
}

// marshalSAN encodes DNS names then URIs, as x509 does.
func marshalSAN(tmpl *x509.Certificate) ([]byte, error) {
	var names []asn1.RawValue
	for _, n := range tmpl.DNSNames {
		names = append(names, asn1.RawValue{Tag: 2, Class: asn1.ClassContextSpecific, Bytes: []byte(n)})
	}
	for _, u := range tmpl.URIs {
		names = append(names, asn1.RawValue{Tag: 6, Class: asn1.ClassContextSpecific, Bytes: []byte(u.String())})
	}
	out, err := asn1.Marshal(names)
	if err != nil {
		return nil, fmt.Errorf("encode subject alternative names: %w", err)
	}
	return out, nil
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
