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
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The fast path below builds the leaf's DER itself and signs it once.
// x509.CreateCertificate verifies every signature it makes against the
// signer's public key, to catch a faulty crypto.Signer such as a broken
// HSM; for an in-memory stdlib key that check is a second ECDSA operation
// per certificate, costlier than the signing itself. Leaves are still
// checked: the tests compare the fast path's TBSCertificate byte for byte
// with CreateCertificate's and verify the signatures.

var (
	oidKeyUsage         = encasn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = encasn1.ObjectIdentifier{2, 5, 29, 37}
	oidBasicConstraints = encasn1.ObjectIdentifier{2, 5, 29, 19}
	oidAuthorityKeyID   = encasn1.ObjectIdentifier{2, 5, 29, 35}
	oidSubjectAltName   = encasn1.ObjectIdentifier{2, 5, 29, 17}
	oidServerAuth       = encasn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth       = encasn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}

	oidECDSAWithSHA256 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = encasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidEd25519         = encasn1.ObjectIdentifier{1, 3, 101, 112}
	oidSHA256WithRSA   = encasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}

	// emptySubject is the DER of an empty Name: SVIDs carry no subject.
	emptySubject = []byte{0x30, 0x00}
	// leafKeyUsage is DigitalSignature as a DER BIT STRING.
	leafKeyUsage = mustMarshal(encasn1.BitString{Bytes: []byte{0x80}, BitLength: 1})
	// leafExtKeyUsage is ServerAuth + ClientAuth.
	leafExtKeyUsage = mustMarshal([]encasn1.ObjectIdentifier{oidServerAuth, oidClientAuth})
	// leafBasicConstraints is CA:FALSE (the default, so an empty SEQUENCE).
	leafBasicConstraints = []byte{0x30, 0x00}
	// errNoFastPath sends a signing to x509.CreateCertificate.
	errNoFastPath = errors.New("no fast path for this issuer key")
)

// authorityKeyID is the AuthorityKeyIdentifier extension's value.
type authorityKeyID struct {
	ID []byte `asn1:"optional,tag:0"`
}

// fastSigner signs leaves with one issuer key without x509's self-check.
type fastSigner struct {
	key    crypto.Signer
	algDER []byte      // the DER AlgorithmIdentifier of the signature
	hash   crypto.Hash // 0 for Ed25519, which signs the message itself
	issuer *x509.Certificate
	aki    []byte // the AuthorityKeyIdentifier extension value, or nil
}

// newFastSigner returns the fast path for the stdlib key types, or
// errNoFastPath for any other signer (an HSM, a KMS).
func newFastSigner(issuer *x509.Certificate, key crypto.Signer) (*fastSigner, error) {
	s := &fastSigner{key: key, issuer: issuer}
	var (
		alg pkix.AlgorithmIdentifier
		err error
	)
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			alg, s.hash = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}, crypto.SHA256
		case elliptic.P384():
			alg, s.hash = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA384}, crypto.SHA384
		case elliptic.P521():
			alg, s.hash = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA512}, crypto.SHA512
		default:
			return nil, errNoFastPath
		}
	case ed25519.PrivateKey:
		alg = pkix.AlgorithmIdentifier{Algorithm: oidEd25519}
	case *rsa.PrivateKey:
		alg = pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: encasn1.NullRawValue}
		s.hash = crypto.SHA256
	default:
		return nil, errNoFastPath
	}
	if s.algDER, err = encasn1.Marshal(alg); err != nil {
		return nil, fmt.Errorf("encode signature algorithm: %w", err)
	}
	if len(issuer.SubjectKeyId) > 0 {
		if s.aki, err = encasn1.Marshal(authorityKeyID{ID: issuer.SubjectKeyId}); err != nil {
			return nil, fmt.Errorf("encode authority key identifier: %w", err)
		}
	}
	return s, nil
}

// sign returns the DER of the leaf described by tmpl over pub; spki is
// pub's SubjectPublicKeyInfo, or nil to encode it here.
func (s *fastSigner) sign(tmpl *x509.Certificate, pub crypto.PublicKey, spki []byte) ([]byte, error) {
	if spki == nil {
		var err error
		if spki, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return nil, fmt.Errorf("encode public key: %w", err)
		}
	}
	tbs, err := s.tbs(tmpl, spki)
	if err != nil {
		return nil, fmt.Errorf("encode certificate: %w", err)
	}
	var signature []byte
	if s.hash == 0 {
		signature, err = s.key.Sign(rand.Reader, tbs, crypto.Hash(0))
	} else {
		signature, err = s.key.Sign(rand.Reader, digest(s.hash, tbs), s.hash)
	}
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(s.algDER)
		b.AddASN1BitString(signature)
	})
	return b.Bytes()
}

// tbs encodes the TBSCertificate: the same bytes x509.CreateCertificate
// writes for a leaf template of LeafTemplate's shape.
func (s *fastSigner) tbs(tmpl *x509.Certificate, spki []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1Int64(2) // v3
		})
		b.AddASN1BigInt(tmpl.SerialNumber)
		b.AddBytes(s.algDER)
		b.AddBytes(s.issuer.RawSubject)
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, tmpl.NotBefore)
			addTime(b, tmpl.NotAfter)
		})
		b.AddBytes(emptySubject)
		b.AddBytes(spki)
		b.AddASN1(casn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addExtension(b, oidKeyUsage, true, leafKeyUsage)
				addExtension(b, oidExtKeyUsage, false, leafExtKeyUsage)
				addExtension(b, oidBasicConstraints, true, leafBasicConstraints)
				if s.aki != nil {
					addExtension(b, oidAuthorityKeyID, false, s.aki)
				}
				// Critical because the subject is empty (RFC 5280 4.2.1.6).
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidSubjectAltName)
					b.AddASN1Boolean(true)
					b.AddASN1(casn1.OCTET_STRING, func(b *cryptobyte.Builder) {
						b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
							for _, n := range tmpl.DNSNames {
								b.AddASN1(casn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(n)) })
							}
							for _, u := range tmpl.URIs {
								b.AddASN1(casn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u.String())) })
							}
						})
					})
				})
			})
		})
	})
	return b.Bytes()
}

func addExtension(b *cryptobyte.Builder, oid encasn1.ObjectIdentifier, critical bool, value []byte) {
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1OctetString(value)
	})
}

// addTime writes UTCTime for 1950–2049 and GeneralizedTime otherwise, as
// RFC 5280 4.1.2.5 requires.
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC()
	if y := t.Year(); y >= 1950 && y < 2050 {
		b.AddASN1UTCTime(t)
		return
	}
	b.AddASN1GeneralizedTime(t)
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

func mustMarshal(v any) []byte {
	b, err := encasn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
