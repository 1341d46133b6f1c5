package server_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	clocktesting "k8s.io/utils/clock/testing"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/sentry/metrics"
	"github.com/trustplane/trustplane/pkg/sentry/server"
	"github.com/trustplane/trustplane/pkg/sentry/validator/fake"
	"github.com/trustplane/trustplane/test/testca"
)

func withJWT(j server.JWTIssuer) func(*server.Options) {
	return func(o *server.Options) { o.JWT = j }
}

func newJWTIssuer(t *testing.T) *jwt.Issuer {
	t.Helper()
	m, err := jwt.Generate(jwt.GenerateOptions{Algorithm: jwa.ES256})
	require.NoError(t, err)
	iss, err := jwt.NewIssuer(jwt.IssuerOptions{Material: m, Issuer: "https://sentry.example.com", Clock: clocktesting.NewFakeClock(start)})
	require.NoError(t, err)
	return iss
}

func verifyAt(t *testing.T, jwks []byte, tok string, aud string) (jwxjwt.Token, error) {
	t.Helper()
	set, err := jwk.Parse(jwks)
	require.NoError(t, err)
	return jwxjwt.Parse([]byte(tok), jwxjwt.WithKeySet(set), jwxjwt.WithAudience(aud),
		jwxjwt.WithClock(jwxjwt.ClockFunc(func() time.Time { return start })))
}

func TestSignCertificate_JWTs(t *testing.T) {
	iss := newJWTIssuer(t)
	h := newHarness(t, fake.Granting(appID), withJWT(iss))
	resp, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
		JwtAudiences: []string{"sts.amazonaws.com", "api://AzureADTokenExchange"},
	})
	require.NoError(t, err)
	require.NotNil(t, resp.GetJwt())
	tok, err := verifyAt(t, iss.PublicJWKS(), resp.GetJwt().GetValue(), "sts.amazonaws.com")
	require.NoError(t, err)
	assert.Equal(t, appID.String(), tok.Subject(), "sub is the validated SPIFFE ID")
	assert.Equal(t, []string{"public", "sts.amazonaws.com", "api://AzureADTokenExchange"}, tok.Audience(), "the app's trust domain comes first")
	assert.Equal(t, "https://sentry.example.com", tok.Issuer())
	assert.Equal(t, resp.GetValidUntil().AsTime(), tok.Expiration(), "the token expires with the certificate (1h < 24h)")
	assert.Equal(t, start.Add(-5*time.Minute), tok.NotBefore(), "nbf uses the configured skew")

	require.Len(t, resp.GetPerAudienceJwts(), 3)
	for _, aud := range []string{"public", "sts.amazonaws.com", "api://AzureADTokenExchange"} {
		v, ok := resp.GetPerAudienceJwts()[aud]
		require.True(t, ok, "a token for %s", aud)
		pt, err := verifyAt(t, iss.PublicJWKS(), v.GetValue(), aud)
		require.NoError(t, err)
		assert.Equal(t, []string{aud}, pt.Audience())
	}
	_, err = verifyAt(t, iss.PublicJWKS(), resp.GetPerAudienceJwts()["public"].GetValue(), "sts.amazonaws.com")
	require.Error(t, err, "a per-audience token is not good for another audience")
}

func TestSignCertificate_JWTsWithoutAudiencesCarryTheTrustDomain(t *testing.T) {
	iss := newJWTIssuer(t)
	h := newHarness(t, fake.Granting(appID), withJWT(iss))
	resp, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
	})
	require.NoError(t, err)
	tok, err := verifyAt(t, iss.PublicJWKS(), resp.GetJwt().GetValue(), "public")
	require.NoError(t, err)
	assert.Equal(t, []string{"public"}, tok.Audience())
	assert.Len(t, resp.GetPerAudienceJwts(), 1)
}

func TestSignCertificate_NoJWTsWhenOff(t *testing.T) {
	h := newHarness(t, fake.Granting(appID))
	resp, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
		JwtAudiences: []string{"sts.amazonaws.com"},
	})
	require.NoError(t, err)
	assert.Nil(t, resp.GetJwt())
	assert.Empty(t, resp.GetPerAudienceJwts())
}

func TestSignCertificate_TooManyAudiencesAreRefused(t *testing.T) {
	h := newHarness(t, fake.Granting(appID), withJWT(newJWTIssuer(t)))
	auds := make([]string, server.MaxJWTAudiences+1)
	for i := range auds {
		auds[i] = string(rune('a' + i%26))
	}
	_, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)), JwtAudiences: auds,
	})
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "too many JWT audiences")
}

func TestSignCertificate_TooLongAudiencesAreRefused(t *testing.T) {
	h := newHarness(t, fake.Granting(appID), withJWT(newJWTIssuer(t)))
	sign := func(auds ...string) error {
		_, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
			Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)), JwtAudiences: auds,
		})
		return err
	}
	err := sign("sts.amazonaws.com", strings.Repeat("a", server.MaxJWTAudienceBytes+1))
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.Equal(t, "JWT audience 1 is too long: 257 bytes, at most 256", status.Convert(err).Message(), "the audience is not echoed")
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.SignFailure.WithLabelValues(metrics.ReasonInvalidRequest)))

	gcp := "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/my-pool/providers/my-provider"
	assert.NoError(t, sign("sts.amazonaws.com", "api://AzureADTokenExchange", gcp, strings.Repeat("a", server.MaxJWTAudienceBytes)))
}

type failingIssuer struct{}

func (failingIssuer) Issue(jwt.Request) (*jwt.Tokens, error) {
	return nil, errors.New("key vanished")
}

func TestSignCertificate_JWTFailureIsInternal(t *testing.T) {
	h := newHarness(t, fake.Granting(appID), withJWT(failingIssuer{}))
	_, err := h.client.SignCertificate(t.Context(), &sentryv1.SignCertificateRequest{
		Id: "orders", Namespace: "shop", CertificateSigningRequest: testca.CSR(t, testca.NewKey(t)),
	})
	assert.Equal(t, codes.Internal, status.Code(err))
	assert.Equal(t, "failed to generate JWT", status.Convert(err).Message(), "the detail is logged, not returned")
	assert.Equal(t, 1.0, testutil.ToFloat64(h.metrics.SignFailure.WithLabelValues(metrics.ReasonSign)))
	entries := h.logs.FilterMessage("Failed to generate JWT").All()
	require.Len(t, entries, 1)
	assert.Contains(t, entries[0].ContextMap()["error"], "key vanished")
}
