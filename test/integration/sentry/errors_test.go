package sentry

import (
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/testca"
)

func TestSentryAnswersBadInputWithTheRightCode(t *testing.T) {
	p := startSentry(t, t.TempDir())
	client := p.client(t)

	good := testca.CSR(t, testca.NewKey(t))
	block, _ := pem.Decode(good)
	badSig := append([]byte(nil), block.Bytes...)
	badSig[len(badSig)-3] ^= 0xff

	tests := map[string]struct {
		req      *sentryv1.SignCertificateRequest
		wantCode codes.Code
		wantMsg  string
	}{
		"a CSR that is not PEM is an invalid argument": {
			req:      &sentryv1.SignCertificateRequest{Id: "app", Namespace: "ns", CertificateSigningRequest: []byte("garbage")},
			wantCode: codes.InvalidArgument, wantMsg: "invalid certificate signing request",
		},
		"a CSR with a bad signature is an invalid argument": {
			req:      &sentryv1.SignCertificateRequest{Id: "app", Namespace: "ns", CertificateSigningRequest: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: badSig})},
			wantCode: codes.InvalidArgument, wantMsg: "invalid signature",
		},
		"an empty CSR is denied by the validator, as Dapr denies it": {
			req:      &sentryv1.SignCertificateRequest{Id: "app", Namespace: "ns"},
			wantCode: codes.PermissionDenied, wantMsg: "invalid request: CSR is required",
		},
		"a validator that is not enabled is an invalid argument": {
			req:      &sentryv1.SignCertificateRequest{Id: "app", Namespace: "ns", CertificateSigningRequest: good, TokenValidator: sentryv1.SignCertificateRequest_KUBERNETES},
			wantCode: codes.InvalidArgument, wantMsg: "the requested validator is not enabled",
		},
		"an unknown validator number is an invalid argument": {
			req:      &sentryv1.SignCertificateRequest{Id: "app", Namespace: "ns", CertificateSigningRequest: good, TokenValidator: 42},
			wantCode: codes.InvalidArgument,
		},
		"an empty namespace is denied": {
			req:      &sentryv1.SignCertificateRequest{Id: "app", CertificateSigningRequest: good},
			wantCode: codes.PermissionDenied, wantMsg: "invalid request: namespace is required",
		},
		"an app id with a dot is denied": {
			req:      &sentryv1.SignCertificateRequest{Id: "my.app", Namespace: "ns", CertificateSigningRequest: good},
			wantCode: codes.PermissionDenied, wantMsg: "invalid request: parameter app-id cannot contain dots",
		},
		"an app id longer than 64 characters is denied": {
			req:      &sentryv1.SignCertificateRequest{Id: strings.Repeat("a", 65), Namespace: "ns", CertificateSigningRequest: good},
			wantCode: codes.PermissionDenied, wantMsg: "invalid request: app ID must be 64 characters or less",
		},
		"an empty app id is denied": {
			req:      &sentryv1.SignCertificateRequest{Namespace: "ns", CertificateSigningRequest: good},
			wantCode: codes.PermissionDenied, wantMsg: "invalid request: parameter app-id cannot be empty",
		},
		"a malformed trust domain is denied": {
			req:      &sentryv1.SignCertificateRequest{Id: "app", Namespace: "ns", TrustDomain: "Bad Domain!", CertificateSigningRequest: good},
			wantCode: codes.PermissionDenied, wantMsg: "trust domain characters are limited",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := client.SignCertificate(ctx(t), tc.req)
			require.Error(t, err)
			st, ok := status.FromError(err)
			require.True(t, ok)
			assert.Equal(t, tc.wantCode, st.Code(), st.Message())
			if tc.wantMsg != "" {
				assert.Contains(t, st.Message(), tc.wantMsg)
			}
		})
	}

	t.Run("failures are counted by reason", func(t *testing.T) {
		m := p.Metrics(t)
		assert.Regexp(t, `dapr_sentry_cert_sign_failure_total\{reason="invalid_csr"\} [1-9]`, m)
		assert.Regexp(t, `dapr_sentry_cert_sign_failure_total\{reason="authentication"\} [1-9]`, m)
		assert.Regexp(t, `dapr_sentry_cert_sign_failure_total\{reason="invalid_request"\} [1-9]`, m)
	})
	t.Run("the log says why a caller was denied", func(t *testing.T) {
		assert.Contains(t, p.Logs.String(), "Refused to sign certificate")
		assert.Contains(t, p.Logs.String(), "my.app")
	})
}
