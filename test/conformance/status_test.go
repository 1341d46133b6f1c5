package conformance

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// ed25519CSR is a CSR as daprd v1.18 sends: an Ed25519 key, empty template.
func ed25519CSR(t *testing.T) []byte {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// Every refusal of SignCertificate, sent to Dapr v1.18.3's Sentry and to
// ours: the same gRPC code and the same message (daprd logs it).
func TestSignCertificateRefusalsMatchDapr(t *testing.T) {
	ours, dapr := startOurs(t), startDapr(t)
	csr := ed25519CSR(t)
	block, _ := pem.Decode(csr)
	badSig := append([]byte(nil), block.Bytes...)
	badSig[len(badSig)-3] ^= 0xff
	req := func(f func(*sentryv1.SignCertificateRequest)) *sentryv1.SignCertificateRequest {
		r := &sentryv1.SignCertificateRequest{Id: "orders", Namespace: "shop", CertificateSigningRequest: csr}
		f(r)
		return r
	}
	tests := map[string]*sentryv1.SignCertificateRequest{
		"no CSR":                   req(func(r *sentryv1.SignCertificateRequest) { r.CertificateSigningRequest = nil }),
		"no namespace":             req(func(r *sentryv1.SignCertificateRequest) { r.Namespace = "" }),
		"no app ID":                req(func(r *sentryv1.SignCertificateRequest) { r.Id = "" }),
		"an app ID with a dot":     req(func(r *sentryv1.SignCertificateRequest) { r.Id = "a.b" }),
		"an app ID of 65 chars":    req(func(r *sentryv1.SignCertificateRequest) { r.Id = strings.Repeat("a", 65) }),
		"everything missing":       {},
		"a malformed trust domain": req(func(r *sentryv1.SignCertificateRequest) { r.TrustDomain = "Bad Domain" }),
		"the jwks validator":       req(func(r *sentryv1.SignCertificateRequest) { r.TokenValidator = sentryv1.SignCertificateRequest_JWKS }),
		"the kubernetes validator": req(func(r *sentryv1.SignCertificateRequest) {
			r.TokenValidator = sentryv1.SignCertificateRequest_KUBERNETES
		}),
		"a CSR that is not PEM": req(func(r *sentryv1.SignCertificateRequest) { r.CertificateSigningRequest = []byte("garbage") }),
		"a PEM block of another type": req(func(r *sentryv1.SignCertificateRequest) {
			r.CertificateSigningRequest = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: block.Bytes})
		}),
		"a CSR whose signature is wrong": req(func(r *sentryv1.SignCertificateRequest) {
			r.CertificateSigningRequest = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: badSig})
		}),
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			_, derr := dapr.client.SignCertificate(sentryproc.Context(t), r)
			_, oerr := ours.client.SignCertificate(sentryproc.Context(t), r)
			require.Error(t, derr, "Dapr refuses it")
			want, got := status.Convert(derr), status.Convert(oerr)
			assert.Equal(t, want.Code(), got.Code(), "code (Dapr: %s)", want.Message())
			assert.Equal(t, want.Message(), got.Message())
		})
	}
	t.Run("a CSR whose DER does not parse gets the same code and message prefix", func(t *testing.T) {
		r := req(func(r *sentryv1.SignCertificateRequest) {
			r.CertificateSigningRequest = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
		})
		_, derr := dapr.client.SignCertificate(sentryproc.Context(t), r)
		_, oerr := ours.client.SignCertificate(sentryproc.Context(t), r)
		assert.Equal(t, codes.InvalidArgument, status.Code(derr))
		assert.Equal(t, codes.InvalidArgument, status.Code(oerr))
		const prefix = "failed to parse certificate signing request: "
		assert.True(t, strings.HasPrefix(status.Convert(derr).Message(), prefix), status.Convert(derr).Message())
		assert.True(t, strings.HasPrefix(status.Convert(oerr).Message(), prefix), status.Convert(oerr).Message())
	})
	t.Run("both sign the same good request", func(t *testing.T) {
		for _, s := range []*sentry{dapr, ours} {
			_, err := s.client.SignCertificate(sentryproc.Context(t), req(func(*sentryv1.SignCertificateRequest) {}))
			assert.NoError(t, err, s.name)
		}
	})
}
