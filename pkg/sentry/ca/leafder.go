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
	// exts is the DER of the extensions every leaf carries, in
	// CreateCertificate's order: key usage, extended key usage, basic
	// constraints and, when the issuer has a key ID, the authority key ID.
	exts []byte
	// maxSignature is the longest signature the key makes.
	maxSignature int
}

// tbsVersion is the TBSCertificate's "[0] EXPLICIT INTEGER 2" (v3).
var tbsVersion = []byte{0xa0, 0x03, tagInteger, 0x01, 0x02}

// sanPrefix is the subjectAltName extension's OID and critical flag,
// critical because the subject is empty (RFC 5280 4.2.1.6).
var sanPrefix = []byte{0x06, 0x03, 0x55, 0x1d, 0x11, 0x01, 0x01, 0xff}

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
		// SEQUENCE of two INTEGERs, each at most one byte longer than
		// the order.
		s.maxSignature = 2*tlvSize((k.Curve.Params().BitSize+7)/8+1) + 3
	case ed25519.PrivateKey:
		alg, s.maxSignature = pkix.AlgorithmIdentifier{Algorithm: oidEd25519}, ed25519.SignatureSize
	case *rsa.PrivateKey:
		alg = pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: encasn1.NullRawValue}
		s.hash, s.maxSignature = crypto.SHA256, k.Size()
	default:
		return nil, errNoFastPath
	}
	if s.algDER, err = encasn1.Marshal(alg); err != nil {
		return nil, fmt.Errorf("encode signature algorithm: %w", err)
	}
	var exts cryptobyte.Builder
	addExtension(&exts, oidKeyUsage, true, leafKeyUsage)
	addExtension(&exts, oidExtKeyUsage, false, leafExtKeyUsage)
	addExtension(&exts, oidBasicConstraints, true, leafBasicConstraints)
	if len(issuer.SubjectKeyId) > 0 {
		aki, err := encasn1.Marshal(authorityKeyID{ID: issuer.SubjectKeyId})
		if err != nil {
			return nil, fmt.Errorf("encode authority key identifier: %w", err)
		}
		addExtension(&exts, oidAuthorityKeyID, false, aki)
	}
	if s.exts, err = exts.Bytes(); err != nil {
		return nil, fmt.Errorf("encode extensions: %w", err)
	}
	return s, nil
}

// sign returns the DER of the leaf described by tmpl over pub; spki is
// pub's SubjectPublicKeyInfo, or nil to encode it here. The certificate is
// written into one buffer: the TBSCertificate first, after room for the
// outer SEQUENCE header, whose length is known once the signature is.
func (s *fastSigner) sign(tmpl *x509.Certificate, pub crypto.PublicKey, spki []byte) ([]byte, error) {
	if spki == nil {
		var err error
		if spki, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return nil, fmt.Errorf("encode public key: %w", err)
		}
	}
	uris := make([]string, len(tmpl.URIs))
	names := 0
	for i, u := range tmpl.URIs {
		uris[i] = u.String()
		names += tlvSize(len(uris[i]))
	}
	for _, n := range tmpl.DNSNames {
		names += tlvSize(len(n))
	}
	serial := serialContent(tmpl.SerialNumber)
	sanExt := len(sanPrefix) + tlvSize(tlvSize(names))
	extsSeq := len(s.exts) + tlvSize(sanExt)
	validity := timeSize(tmpl.NotBefore) + timeSize(tmpl.NotAfter)
	tbsLen := len(tbsVersion) + tlvSize(len(serial)) + len(s.algDER) + len(s.issuer.RawSubject) + tlvSize(validity) +
		len(emptySubject) + len(spki) + tlvSize(tlvSize(extsSeq))
	if tbsLen > maxDERLength/2 {
		return nil, fmt.Errorf("encode certificate: %w", errTooLong)
	}

	const headroom = 5 // the longest outer SEQUENCE header
	buf := make([]byte, headroom, headroom+tlvSize(tbsLen)+len(s.algDER)+tlvSize(1+s.maxSignature))
	buf = appendHeader(buf, tagSequence, tbsLen)
	buf = append(buf, tbsVersion...)
	buf = append(appendHeader(buf, tagInteger, len(serial)), serial...)
	buf = append(buf, s.algDER...)
	buf = append(buf, s.issuer.RawSubject...)
	buf = appendHeader(buf, tagSequence, validity)
	buf = appendTime(appendTime(buf, tmpl.NotBefore), tmpl.NotAfter)
	buf = append(buf, emptySubject...)
	buf = append(buf, spki...)
	buf = appendHeader(buf, tagExtensions, tlvSize(extsSeq))
	buf = appendHeader(buf, tagSequence, extsSeq)
	buf = append(buf, s.exts...)
	buf = appendHeader(buf, tagSequence, sanExt)
	buf = append(buf, sanPrefix...)
	buf = appendHeader(buf, tagOctetString, tlvSize(names))
	buf = appendHeader(buf, tagSequence, names)
	for _, n := range tmpl.DNSNames {
		buf = append(appendHeader(buf, tagDNSName, len(n)), n...)
	}
	for _, u := range uris {
		buf = append(appendHeader(buf, tagURI, len(u)), u...)
	}
	tbs := buf[headroom:]

	var (
		signature []byte
		err       error
	)
	if s.hash == 0 {
		signature, err = s.key.Sign(rand.Reader, tbs, crypto.Hash(0))
	} else {
		signature, err = s.key.Sign(rand.Reader, digest(s.hash, tbs), s.hash)
	}
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	outer := len(tbs) + len(s.algDER) + tlvSize(1+len(signature))
	start := headroom - (1 + lengthOfLength(outer))
	appendHeader(buf[start:start], tagSequence, outer)
	buf = append(buf, s.algDER...)
	buf = append(appendHeader(buf, tagBitString, 1+len(signature)), 0) // no unused bits
	buf = append(buf, signature...)
	return buf[start:], nil
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
