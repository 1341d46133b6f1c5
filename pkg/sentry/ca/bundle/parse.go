package bundle

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/trustplane/trustplane/pkg/privatekey"
)

// Parse builds a bundle from the three files a store holds:
//
//   - rootsPEM (ca.crt): one or more self-signed CA certificates. Text around
//     the PEM blocks, as `openssl x509 -text` prints it, is ignored.
//   - issuerPEM (issuer.crt): the issuer, then any intermediates, optionally
//     ending in self-signed roots, which are dropped.
//   - keyPEM (issuer.key): the issuer's ECDSA, RSA or Ed25519 key in PKCS#8
//     ("PRIVATE KEY"), SEC1 ("EC PRIVATE KEY", an "EC PARAMETERS" block
//     beside it is skipped) or PKCS#1 ("RSA PRIVATE KEY").
//
// Parse checks all that does not depend on the time: see Verify for the
// rest. Any problem is an *Error naming the part at fault.
func Parse(rootsPEM, issuerPEM, keyPEM []byte) (*Bundle, error) {
	roots, err := parseCerts(rootsPEM)
	if err != nil {
		return nil, &Error{Part: PartRoots, Err: err}
	}
	certs, err := parseCerts(issuerPEM)
	if err != nil {
		return nil, &Error{Part: PartIssuer, Err: err}
	}
	chain := certs
	for len(chain) > 0 && selfSigned(chain[len(chain)-1]) {
		chain = chain[:len(chain)-1]
	}
	if len(chain) == 0 {
		return nil, partErr(PartIssuer, "%w: %s is a root; the issuer must be a separate CA certificate signed by a root in the roots file",
			ErrSelfSignedIssuer, describe(0, certs[0]))
	}
	key, err := ParseKey(keyPEM)
	if err != nil {
		return nil, &Error{Part: PartKey, Err: err}
	}
	b := &Bundle{
		Roots:          roots,
		RootsPEM:       bytes.Clone(rootsPEM),
		IssuerChain:    chain,
		IssuerChainPEM: EncodeCertificates(chain),
		IssuerKey:      key,
		IssuerKeyPEM:   bytes.Clone(keyPEM),
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// parseCerts reads every CERTIFICATE block of data, skipping text between
// blocks. Any other block type is refused, so a key pasted into a
// certificate file is caught.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: PEM block %d is a %q, not a CERTIFICATE", ErrMalformed, n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", ErrMalformed, n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no PEM CERTIFICATE block found", ErrMalformed)
	}
	return certs, nil
}

// ParseKey reads the one private key of a PEM file (see privatekey.Parse);
// its errors wrap ErrMalformed.
func ParseKey(data []byte) (crypto.Signer, error) {
	key, err := privatekey.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return key, nil
}

// selfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// checkCA reports why c may not sign certificates, or nil.
func checkCA(i int, c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%w: %s lacks basicConstraints CA:TRUE", ErrNotCA, describe(i, c))
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: %s has a keyUsage without keyCertSign", ErrNotCA, describe(i, c))
	}
	return nil
}

// check runs the checks that do not depend on the time.
func (b *Bundle) check() error {
	if len(b.Roots) == 0 {
		return partErr(PartRoots, "no root certificate")
	}
	for i, r := range b.Roots {
		if !bytes.Equal(r.RawSubject, r.RawIssuer) {
			return partErr(PartRoots, "%w: %s is not self-signed (issued by %s); only roots belong in the roots file",
				ErrNotChained, describe(i, r), r.Issuer)
		}
		if err := r.CheckSignature(r.SignatureAlgorithm, r.RawTBSCertificate, r.Signature); err != nil {
			return partErr(PartRoots, "%w: %s names itself as issuer but its signature does not verify with its own key: %w",
				ErrNotChained, describe(i, r), err)
		}
		if err := checkCA(i, r); err != nil {
			return &Error{Part: PartRoots, Err: err}
		}
	}
	if len(b.IssuerChain) == 0 {
		return partErr(PartIssuer, "no issuer certificate")
	}
	for i, c := range b.IssuerChain {
		if selfSigned(c) {
			if i == 0 {
				return partErr(PartIssuer, "%w: %s is a root; the issuer must be a separate CA certificate signed by a root in the roots file",
					ErrSelfSignedIssuer, describe(i, c))
			}
			return partErr(PartIssuer, "%w: %s is self-signed; only the last certificates of the file may be roots",
				ErrNotChained, describe(i, c))
		}
	}
	for i, c := range b.IssuerChain {
		if err := checkCA(i, c); err != nil {
			return &Error{Part: PartIssuer, Err: err}
		}
		if i+1 < len(b.IssuerChain) {
			p := b.IssuerChain[i+1]
			if err := c.CheckSignatureFrom(p); err != nil {
				return partErr(PartIssuer, "%w: %s is not signed by %s: %w", ErrNotChained, describe(i, c), describe(i+1, p), err)
			}
		}
	}
	if err := b.checkAnchored(); err != nil {
		return err
	}
	return b.checkKey()
}

// checkAnchored checks that the top of the issuer chain is signed by one of
// the roots.
func (b *Bundle) checkAnchored() error {
	last := len(b.IssuerChain) - 1
	top := b.IssuerChain[last]
	var errs []error
	for _, r := range b.Roots {
		err := top.CheckSignatureFrom(r)
		if err == nil {
			return nil
		}
		if bytes.Equal(top.RawIssuer, r.RawSubject) {
			errs = append(errs, err)
		}
	}
	msg := fmt.Sprintf("%s is issued by %s, which is not one of the %d root(s) of the roots file",
		describe(last, top), top.Issuer, len(b.Roots))
	if len(errs) > 0 {
		msg = fmt.Sprintf("%s is not signed by the root named %s: %v", describe(last, top), top.Issuer, errors.Join(errs...))
	}
	return partErr(PartIssuer, "%w: %s", ErrNotChained, msg)
}

// checkKey checks that the key is the issuer certificate's key.
func (b *Bundle) checkKey() error {
	if b.IssuerKey == nil {
		return partErr(PartKey, "no issuer key")
	}
	pub, ok := b.IssuerKey.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(b.IssuerChain[0].PublicKey) {
		return partErr(PartKey, "%w: the %s key is not the key of issuer %s",
			ErrKeyMismatch, keyKind(b.IssuerKey), subjectOf(b.IssuerChain[0]))
	}
	return nil
}

func keyKind(k crypto.Signer) string {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case ed25519.PrivateKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k)
}
