package bundle_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

func TestParseAccepts(t *testing.T) {
	root := newCert(t, nil, nil)
	other := newCert(t, nil, nil)
	issuer := newCert(t, root, nil, maxPathLen(0))
	mid := newCert(t, root, nil)
	low := newCert(t, mid, nil, maxPathLen(0))
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaIssuer := newCert(t, root, rsaKey)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	edIssuer := newCert(t, root, edKey)

	tests := map[string]struct {
		roots, issuer, key []byte
		wantRoots          []*testCA
		wantChain          []*testCA
	}{
		"one root and one issuer": {
			roots: certPEM(root), issuer: certPEM(issuer), key: keyPEM(t, issuer),
			wantRoots: []*testCA{root}, wantChain: []*testCA{issuer},
		},
		"several roots with text around the PEM blocks": {
			roots:  append(append([]byte("Certificate:\n    Data: ...\n"), certPEM(other)...), append([]byte("# the new root\n"), certPEM(root)...)...),
			issuer: certPEM(issuer), key: keyPEM(t, issuer),
			wantRoots: []*testCA{other, root}, wantChain: []*testCA{issuer},
		},
		"a trailing self-signed root in the issuer file is dropped": {
			roots: certPEM(root), issuer: certPEM(issuer, root), key: keyPEM(t, issuer),
			wantRoots: []*testCA{root}, wantChain: []*testCA{issuer},
		},
		"an intermediate between issuer and root is kept": {
			roots: certPEM(root), issuer: certPEM(low, mid, root), key: keyPEM(t, low),
			wantRoots: []*testCA{root}, wantChain: []*testCA{low, mid},
		},
		"an ECDSA key in SEC1 is read": {
			roots: certPEM(root), issuer: certPEM(issuer), key: sec1PEM(t, issuer),
			wantRoots: []*testCA{root}, wantChain: []*testCA{issuer},
		},
		"an RSA key in PKCS#1 is read": {
			roots: certPEM(root), issuer: certPEM(rsaIssuer),
			key:       pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
			wantRoots: []*testCA{root}, wantChain: []*testCA{rsaIssuer},
		},
		"an RSA key in PKCS#8 is read": {
			roots: certPEM(root), issuer: certPEM(rsaIssuer), key: keyPEM(t, rsaIssuer),
			wantRoots: []*testCA{root}, wantChain: []*testCA{rsaIssuer},
		},
		"an Ed25519 key in PKCS#8 is read": {
			roots: certPEM(root), issuer: certPEM(edIssuer), key: keyPEM(t, edIssuer),
			wantRoots: []*testCA{root}, wantChain: []*testCA{edIssuer},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := bundle.Parse(tc.roots, tc.issuer, tc.key)
			require.NoError(t, err)
			require.Len(t, b.Roots, len(tc.wantRoots))
			for i, r := range tc.wantRoots {
				assert.Equal(t, r.cert.Raw, b.Roots[i].Raw, "root %d", i)
			}
			require.Len(t, b.IssuerChain, len(tc.wantChain))
			for i, c := range tc.wantChain {
				assert.Equal(t, c.cert.Raw, b.IssuerChain[i].Raw, "chain %d", i)
			}
			assert.Equal(t, tc.wantChain[0].cert.Raw, b.Issuer().Raw)
			assert.Equal(t, certPEM(tc.wantChain...), b.IssuerChainPEM, "chain re-encoded without roots")
			assert.Equal(t, tc.roots, b.RootsPEM, "roots kept as stored")
			assert.Equal(t, tc.key, b.IssuerKeyPEM, "key kept as stored")
			assert.True(t, b.IssuerKey.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(b.Issuer().PublicKey))
			require.NoError(t, b.Verify(t0))
		})
	}
}

func TestParseRefuses(t *testing.T) {
	root := newCert(t, nil, nil)
	other := newCert(t, nil, nil)
	issuer := newCert(t, root, nil, maxPathLen(0))
	stranger := newCert(t, other, nil, maxPathLen(0))
	mid := newCert(t, root, nil)
	low := newCert(t, mid, nil, maxPathLen(0))
	twinA := newCert(t, nil, nil, subject("ACME Root"))
	twinB := newCert(t, nil, nil, subject("ACME Root"))
	twinIssuer := newCert(t, twinB, nil)
	leafRoot := newCert(t, nil, nil, notCA())
	noCertSign := newCert(t, root, nil, keyUsage(x509.KeyUsageDigitalSignature))
	notCAIssuer := newCert(t, root, nil, notCA())
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	xDER, err := x509.MarshalPKCS8PrivateKey(x)
	require.NoError(t, err)
	tampered := append([]byte(nil), root.cert.Raw...)
	tampered[len(tampered)-1] ^= 0x01
	good := keyPEM(t, issuer)

	tests := map[string]struct {
		roots, issuer, key []byte
		part               bundle.Part
		is                 error
		msg                string
	}{
		"an empty roots file is refused": {
			roots: nil, issuer: certPEM(issuer), key: good,
			part: bundle.PartRoots, is: bundle.ErrMalformed, msg: "roots: malformed: no PEM CERTIFICATE block found",
		},
		"a corrupt certificate in the roots file is refused": {
			roots: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), issuer: certPEM(issuer), key: good,
			part: bundle.PartRoots, is: bundle.ErrMalformed, msg: "certificate 1",
		},
		"a key pasted into the roots file is refused by block type only": {
			roots: append(certPEM(root), good...), issuer: certPEM(issuer), key: good,
			part: bundle.PartRoots, is: bundle.ErrMalformed, msg: `PEM block 2 is a "PRIVATE KEY"`,
		},
		"an intermediate in the roots file is refused": {
			roots: certPEM(root, mid), issuer: certPEM(issuer), key: good,
			part: bundle.PartRoots, is: bundle.ErrNotChained, msg: "certificate 2 (O=" + mid.cert.Subject.Organization[0] + ") is not self-signed",
		},
		"a root whose self-signature is broken is refused": {
			roots: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tampered}), issuer: certPEM(issuer), key: good,
			part: bundle.PartRoots, is: bundle.ErrNotChained, msg: "does not verify with its own key",
		},
		"a root that is not a CA is refused": {
			roots: certPEM(leafRoot), issuer: certPEM(issuer), key: good,
			part: bundle.PartRoots, is: bundle.ErrNotCA, msg: "lacks basicConstraints CA:TRUE",
		},
		"an empty issuer file is refused": {
			roots: certPEM(root), issuer: []byte("\n"), key: good,
			part: bundle.PartIssuer, is: bundle.ErrMalformed, msg: "issuer: malformed: no PEM CERTIFICATE block found",
		},
		"an issuer that is the root itself is refused": {
			roots: certPEM(root), issuer: certPEM(root), key: keyPEM(t, root),
			part: bundle.PartIssuer, is: bundle.ErrSelfSignedIssuer, msg: "is a root; the issuer must be a separate CA certificate",
		},
		"an issuer of another root is refused": {
			roots: certPEM(root), issuer: certPEM(stranger), key: keyPEM(t, stranger),
			part: bundle.PartIssuer, is: bundle.ErrNotChained, msg: "which is not one of the 1 root(s)",
		},
		"an issuer of a root with the same name but another key is refused": {
			roots: certPEM(twinA), issuer: certPEM(twinIssuer), key: keyPEM(t, twinIssuer),
			part: bundle.PartIssuer, is: bundle.ErrNotChained, msg: "is not signed by the root named O=ACME Root",
		},
		"a chain in the wrong order is refused": {
			roots: certPEM(root), issuer: certPEM(mid, low), key: keyPEM(t, mid),
			part: bundle.PartIssuer, is: bundle.ErrNotChained, msg: "certificate 1 (O=" + mid.cert.Subject.Organization[0] + ") is not signed by certificate 2",
		},
		"a self-signed certificate inside the chain is refused": {
			roots: certPEM(root), issuer: certPEM(low, other, mid, root), key: keyPEM(t, low),
			part: bundle.PartIssuer, is: bundle.ErrNotChained, msg: "certificate 2 (O=" + other.cert.Subject.Organization[0] + ") is self-signed",
		},
		"an issuer that is not a CA is refused": {
			roots: certPEM(root), issuer: certPEM(notCAIssuer), key: keyPEM(t, notCAIssuer),
			part: bundle.PartIssuer, is: bundle.ErrNotCA, msg: "lacks basicConstraints CA:TRUE",
		},
		"an issuer whose key usage lacks keyCertSign is refused": {
			roots: certPEM(root), issuer: certPEM(noCertSign), key: keyPEM(t, noCertSign),
			part: bundle.PartIssuer, is: bundle.ErrNotCA, msg: "without keyCertSign",
		},
		"a key of another issuer is refused": {
			roots: certPEM(root), issuer: certPEM(issuer), key: keyPEM(t, stranger),
			part: bundle.PartKey, is: bundle.ErrKeyMismatch, msg: "the ECDSA P-256 key is not the key of issuer O=" + issuer.cert.Subject.Organization[0],
		},
		"an empty key file is refused": {
			roots: certPEM(root), issuer: certPEM(issuer), key: nil,
			part: bundle.PartKey, is: bundle.ErrMalformed, msg: "no PEM private key block found",
		},
		"an encrypted legacy key is refused": {
			roots: certPEM(root), issuer: certPEM(issuer),
			key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}),
			part: bundle.PartKey, is: bundle.ErrMalformed, msg: "encrypted key",
		},
		"an encrypted PKCS#8 key is refused": {
			roots: certPEM(root), issuer: certPEM(issuer),
			key:  pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}),
			part: bundle.PartKey, is: bundle.ErrMalformed, msg: "encrypted key",
		},
		"two keys in the key file are refused": {
			roots: certPEM(root), issuer: certPEM(issuer), key: append(append([]byte(nil), good...), keyPEM(t, stranger)...),
			part: bundle.PartKey, is: bundle.ErrMalformed, msg: "2 private keys found",
		},
		"a certificate in the key file is refused": {
			roots: certPEM(root), issuer: certPEM(issuer), key: certPEM(issuer),
			part: bundle.PartKey, is: bundle.ErrMalformed, msg: `PEM block 1 is a "CERTIFICATE"`,
		},
		"a corrupt SEC1 key is refused": {
			roots: certPEM(root), issuer: certPEM(issuer), key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("junk")}),
			part: bundle.PartKey, is: bundle.ErrMalformed, msg: "EC PRIVATE KEY block 1",
		},
		"an X25519 key, which cannot sign, is refused": {
			roots: certPEM(root), issuer: certPEM(issuer), key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: xDER}),
			part: bundle.PartKey, is: bundle.ErrMalformed, msg: "cannot sign",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := bundle.Parse(tc.roots, tc.issuer, tc.key)
			require.Error(t, err)
			assert.Nil(t, b)
			var be *bundle.Error
			require.True(t, errors.As(err, &be), "a *bundle.Error, got %T", err)
			assert.Equal(t, tc.part, be.Part)
			assert.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, len(err.Error()) > len(tc.part)+2 && err.Error()[:len(tc.part)+2] == string(tc.part)+": ", "message starts with the part: %s", err)
			assert.NotContains(t, err.Error(), "BEGIN", "no PEM echoed")
		})
	}
}
