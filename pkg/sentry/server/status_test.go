package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/sentry/server"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/sentry/validator/fake"
	"github.com/trustplane/trustplane/pkg/sentry/validator/insecure"
	"github.com/trustplane/trustplane/test/testca"
)

// Every refusal Dapr v1.18.3's Sentry distinguishes gets its code and
// message (daprd logs the message: it is where users debug), with the real
// insecure validator; test/conformance checks the same against Dapr's binary.
func TestSignCertificate_RefusesWithDaprsCodeAndMessage(t *testing.T) {
	csr := testca.CSR(t, testca.NewKey(t))
	block, _ := pem.Decode(csr)
	badSig := append([]byte(nil), block.Bytes...)
	badSig[len(badSig)-3] ^= 0xff
	req := func(f func(*sentryv1.SignCertificateRequest)) *sentryv1.SignCertificateRequest {
		r := &sentryv1.SignCertificateRequest{Id: "orders", Namespace: "shop", CertificateSigningRequest: csr}
		f(r)
		return r
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	long := strings.Repeat("x", 30_000) // under the 32 KiB request limit
	huge := strings.Repeat("x", 4_000_000)
	tests := map[string]struct {
		req      *sentryv1.SignCertificateRequest
		noDef    bool
		wantCode codes.Code
		wantMsg  string
	}{
		"a missing CSR is refused by the validator, before the CSR is looked at": {
			req: req(func(r *sentryv1.SignCertificateRequest) { r.CertificateSigningRequest = nil }), wantCode: codes.PermissionDenied,
			wantMsg: "invalid request: CSR is required",
		},
		"a validator that is not enabled": {
			req:      req(func(r *sentryv1.SignCertificateRequest) { r.TokenValidator = sentryv1.SignCertificateRequest_JWKS }),
			wantCode: codes.InvalidArgument, wantMsg: "the requested validator is not enabled",
		},
		"a validator number the enum does not know": {
			req:      req(func(r *sentryv1.SignCertificateRequest) { r.TokenValidator = 42 }),
			wantCode: codes.InvalidArgument, wantMsg: "the requested validator is not enabled",
		},
		"no validator named where there is no default": {
			req: req(func(*sentryv1.SignCertificateRequest) {}), noDef: true, wantCode: codes.InvalidArgument,
			wantMsg: "a validator name must be specified in this environment",
		},
		"an app ID over 64 characters": {
			req:      req(func(r *sentryv1.SignCertificateRequest) { r.Id = strings.Repeat("a", 65) }),
			wantCode: codes.PermissionDenied, wantMsg: "invalid request: app ID must be 64 characters or less",
		},
		"no namespace": {
			req:      req(func(r *sentryv1.SignCertificateRequest) { r.Namespace = "" }),
			wantCode: codes.PermissionDenied, wantMsg: "invalid request: namespace is required",
		},
		"a CSR that is not PEM": {
			req:      req(func(r *sentryv1.SignCertificateRequest) { r.CertificateSigningRequest = []byte("garbage") }),
			wantCode: codes.InvalidArgument, wantMsg: "invalid certificate signing request",
		},
		"a PEM block of another type": {
			req: req(func(r *sentryv1.SignCertificateRequest) {
				r.CertificateSigningRequest = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: block.Bytes})
			}),
			wantCode: codes.InvalidArgument, wantMsg: "invalid certificate signing request",
		},
		"a CSR whose DER does not parse": {
			req: req(func(r *sentryv1.SignCertificateRequest) {
				r.CertificateSigningRequest = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
			}),
			wantCode: codes.InvalidArgument, wantMsg: "failed to parse certificate signing request: ",
		},
		"a CSR with a key outside the key policy": {
			req: req(func(r *sentryv1.SignCertificateRequest) {
				r.CertificateSigningRequest = testca.CSR(t, weak)
			}),
			wantCode: codes.InvalidArgument, wantMsg: "failed to parse certificate signing request: key not allowed: RSA key of 1024 bits, use 2048 to 8192",
		},
		"a CSR whose signature is wrong": {
			req: req(func(r *sentryv1.SignCertificateRequest) {
				r.CertificateSigningRequest = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: badSig})
			}),
			wantCode: codes.InvalidArgument, wantMsg: "invalid signature",
		},
		"a 30 KB app ID gets Dapr's message, not the ID back": {
			req:      req(func(r *sentryv1.SignCertificateRequest) { r.Id = long }),
			wantCode: codes.PermissionDenied, wantMsg: "invalid request: app ID must be 64 characters or less",
		},
		"a 4 MB request is refused by its length, not buffered (Dapr's Sentry reads up to 4 MiB)": {
			req:      req(func(r *sentryv1.SignCertificateRequest) { r.Id = huge }),
			wantCode: codes.ResourceExhausted, wantMsg: "grpc: received message larger than max (4000340 vs. 32768)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			def := validator.Insecure
			if tc.noDef {
				def = ""
			}
			set, err := validator.NewSet(map[validator.Name]validator.Validator{validator.Insecure: insecure.New()}, def)
			require.NoError(t, err)
			h := newHarness(t, fake.Granting(appID), func(o *server.Options) { o.Validators = func() *validator.Set { return set } })
			_, err = h.client.SignCertificate(t.Context(), tc.req)
			st := status.Convert(err)
			assert.Equal(t, tc.wantCode, st.Code())
			if strings.HasSuffix(tc.wantMsg, ": ") {
				assert.True(t, strings.HasPrefix(st.Message(), tc.wantMsg), st.Message())
			} else {
				assert.Equal(t, tc.wantMsg, st.Message())
			}
			for _, e := range h.logs.All() {
				for k, v := range e.ContextMap() {
					s, _ := v.(string)
					assert.Less(t, len(s), 1024, "log field %s is bounded", k)
				}
			}
		})
	}
}
