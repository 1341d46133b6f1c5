package server

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/wrapperspb"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/sentry/metrics"
)

// Bounds of the JWT audiences a request may ask for: each one costs a
// signature and a token in the response, and together they are the largest
// part of the largest legitimate request (Limits.MaxRequestBytes). 256
// bytes holds the audiences in use (sts.amazonaws.com,
// api://AzureADTokenExchange, a GCP workload identity provider's
// ~140-byte URL).
const (
	MaxJWTAudiences     = 32
	MaxJWTAudienceBytes = 256
)

// JWTIssuer signs JWT-SVIDs beside the X.509-SVID; *jwt.Issuer is the
// implementation.
type JWTIssuer interface {
	// Issue signs one token for all audiences and one per audience.
	Issue(req jwt.Request) (*jwt.Tokens, error)
}

// checkJWTAudiences refuses requests for too many audiences or too long
// ones, before any signing. Without JWT issuance the audiences are
// ignored, as Dapr's Sentry ignores them.
func (s *service) checkJWTAudiences(req *sentryv1.SignCertificateRequest) error {
	if s.opts.JWT == nil {
		return nil
	}
	auds := req.GetJwtAudiences()
	if n := len(auds); n > MaxJWTAudiences {
		return fail(codes.InvalidArgument, metrics.ReasonInvalidRequest,
			fmt.Sprintf("too many JWT audiences: %d, at most %d", n, MaxJWTAudiences), nil)
	}
	for i, aud := range auds {
		if len(aud) > MaxJWTAudienceBytes {
			return fail(codes.InvalidArgument, metrics.ReasonInvalidRequest,
				fmt.Sprintf("JWT audience %d is too long: %d bytes, at most %d", i, len(aud), MaxJWTAudienceBytes), nil)
		}
	}
	return nil
}

// addJWTs puts the JWT-SVIDs of id into resp when JWT issuance is on: the
// audiences are the workload's trust domain then the requested ones, as
// Dapr's, and the tokens expire no later than the certificate.
func (s *service) addJWTs(resp *sentryv1.SignCertificateResponse, req *sentryv1.SignCertificateRequest, id spiffeid.ID, issued *ca.Issued, iss Issuance) error {
	if s.opts.JWT == nil {
		return nil
	}
	auds := append([]string{id.TrustDomain().Name()}, req.GetJwtAudiences()...)
	toks, err := s.opts.JWT.Issue(jwt.Request{Subject: id, Audiences: auds, NotAfter: issued.NotAfter, ClockSkew: iss.AllowedClockSkew})
	if err != nil {
		s.opts.Logger.Error("Failed to generate JWT", zap.String(log.KeySPIFFEID, id.String()), zap.Error(err))
		return fail(codes.Internal, metrics.ReasonSign, "failed to generate JWT", err)
	}
	resp.Jwt = wrapperspb.String(toks.JWT)
	resp.PerAudienceJwts = make(map[string]*wrapperspb.StringValue, len(toks.PerAudience))
	for aud, tok := range toks.PerAudience {
		resp.PerAudienceJwts[aud] = wrapperspb.String(tok)
	}
	return nil
}
