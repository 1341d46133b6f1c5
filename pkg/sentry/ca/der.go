package ca

import (
	"encoding/base64"
	"errors"
	"math/big"
	"time"
)

// A minimal DER writer for the leaf fast path. cryptobyte allocates a
// builder per nested element; a leaf is a fixed shape, so its length is
// known before a byte is written and the whole certificate is written into
// one buffer. TestFastSigner_MatchesCreateCertificate holds the output to
// x509.CreateCertificate's, byte for byte.

// DER tags used by the leaf.
const (
	tagInteger         = 0x02
	tagBitString       = 0x03
	tagOctetString     = 0x04
	tagUTCTime         = 0x17
	tagGeneralizedTime = 0x18
	tagSequence        = 0x30
	tagDNSName         = 0x82 // [2] IMPLICIT IA5String in GeneralName
	tagURI             = 0x86 // [6] IMPLICIT IA5String in GeneralName
	tagExtensions      = 0xa3 // [3] EXPLICIT in TBSCertificate
)

// maxDERLength bounds an element's content to what three length octets
// hold; a leaf is a few hundred bytes.
const maxDERLength = 1<<24 - 1

var errTooLong = errors.New("certificate element too long")

// lengthOfLength is the size of the length octets for n content bytes.
func lengthOfLength(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	}
	return 4
}

// tlvSize is the encoded size of an element with n content bytes.
func tlvSize(n int) int { return 1 + lengthOfLength(n) + n }

// appendHeader writes a tag and the length octets of n content bytes.
func appendHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x100:
		return append(dst, 0x81, byte(n))
	case n < 0x10000:
		return append(dst, 0x82, byte(n>>8), byte(n))
	}
	return append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
}

// serialContent is the content octets of a non-negative INTEGER: minimal
// two's complement, a leading zero when the top bit is set.
func serialContent(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) == 0 {
		return []byte{0}
	}
	if b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

// appendTime writes UTCTime for 1950–2049 and GeneralizedTime otherwise
// (RFC 5280 4.1.2.5), in UTC with a Z.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if y := t.Year(); y >= 1950 && y < 2050 {
		dst = append(dst, tagUTCTime, 13)
		return t.AppendFormat(dst, "060102150405Z0700")
	}
	dst = append(dst, tagGeneralizedTime, 15)
	return t.AppendFormat(dst, "20060102150405Z0700")
}

// timeSize is appendTime's output size.
func timeSize(t time.Time) int {
	if y := t.UTC().Year(); y >= 1950 && y < 2050 {
		return 15
	}
	return 17
}

const (
	pemCertHeader = "-----BEGIN CERTIFICATE-----\n"
	pemCertFooter = "-----END CERTIFICATE-----\n"
	// pemChunk is the DER bytes of one 64-character base64 line.
	pemChunk = 48
)

// pemCertSize is the size of appendCertPEM's output for der.
func pemCertSize(der []byte) int {
	lines := (len(der) + pemChunk - 1) / pemChunk
	return len(pemCertHeader) + base64.StdEncoding.EncodedLen(len(der)) + lines + len(pemCertFooter)
}

// appendCertPEM writes der as a CERTIFICATE PEM block, exactly as
// pem.Encode does: 64-character lines, each ending in a newline.
func appendCertPEM(dst, der []byte) []byte {
	dst = append(dst, pemCertHeader...)
	for len(der) > 0 {
		n := min(len(der), pemChunk)
		dst = base64.StdEncoding.AppendEncode(dst, der[:n])
		dst = append(dst, '\n')
		der = der[n:]
	}
	return append(dst, pemCertFooter...)
}
