package server

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca"
	"github.com/trustplane/trustplane/pkg/sentry/metrics"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

// service implements sentryv1.CAServer.
type service struct {
	sentryv1.UnimplementedCAServer
	opts     Options
	refusals *refusalLog
}

var _ sentryv1.CAServer = (*service)(nil)

// SignCertificate authenticates the caller and signs its CSR.
func (s *service) SignCertificate(ctx context.Context, req *sentryv1.SignCertificateRequest) (*sentryv1.SignCertificateResponse, error) {
	s.opts.Metrics.SignRequests.Inc()
	resp, err := s.sign(ctx, req)
	if err != nil {
		reason := metrics.ReasonSign
		if re, ok := err.(*requestError); ok {
			reason = re.reason
		}
		s.opts.Metrics.SignFailure.WithLabelValues(reason).Inc()
		s.refusals.refused(reason,
			zap.String(log.KeyNamespace, log.Bound(req.GetNamespace())),
			zap.String(log.KeyAppID, log.Bound(req.GetId())),
			zap.String(log.KeyValidator, req.GetTokenValidator().String()),
			zap.String(log.KeyReason, reason),
			zap.Error(err))
		return nil, toStatus(err)
	}
	s.opts.Metrics.SignSuccess.Inc()
	return resp, nil
}

func (s *service) sign(ctx context.Context, req *sentryv1.SignCertificateRequest) (*sentryv1.SignCertificateResponse, error) {
	// Dapr's order and codes: the validator first (InvalidArgument when
	// none applies), then the token (PermissionDenied with the validator's
	// reason: a request without a CSR is refused there), then the CSR.
	name, err := validatorName(req.GetTokenValidator())
	if err != nil {
		return nil, fail(codes.InvalidArgument, metrics.ReasonInvalidRequest, validator.ErrNotEnabled.Error(), err)
	}
	v, name, err := s.opts.Validators().Get(name)
	if err != nil {
		msg := validator.ErrNotEnabled.Error()
		if errors.Is(err, validator.ErrNoDefault) {
			msg = validator.ErrNoDefault.Error()
		}
		return nil, fail(codes.InvalidArgument, metrics.ReasonInvalidRequest, msg, err)
	}
	id, err := v.Validate(ctx, validator.Request{
		AppID:       req.GetId(),
		Namespace:   req.GetNamespace(),
		TrustDomain: req.GetTrustDomain(),
		Token:       req.GetToken(),
		HasCSR:      len(req.GetCertificateSigningRequest()) > 0,
	})
	if err != nil {
		return nil, fail(codes.PermissionDenied, metrics.ReasonAuthentication, validator.PublicMessage(err),
			fmt.Errorf("validator %s: %w", name, err))
	}
	csr, err := DecodeCSR(req.GetCertificateSigningRequest())
	if err != nil {
		return nil, fail(codes.InvalidArgument, metrics.ReasonInvalidCSR, csrMessage(err), err)
	}
	if err := s.checkJWTAudiences(req); err != nil {
		return nil, err
	}
	iss := s.opts.Issuance()
	issued, err := s.opts.Authority.SignWorkload(ctx, ca.SignRequest{
		PublicKey:    csr.PublicKey,
		PublicKeyDER: csr.RawSubjectPublicKeyInfo,
		ID:           id,
		DNSNames:     ca.DNSNamesFor(id, s.opts.ControlPlaneTrustDomain, s.opts.ControlPlaneNamespace, s.clusterDomain()),
		TTL:          iss.WorkloadCertTTL,
		ClockSkew:    iss.AllowedClockSkew,
	})
	if err != nil {
		s.opts.Logger.Error("Failed to sign certificate", zap.String(log.KeySPIFFEID, id.String()), zap.Error(err))
		return nil, fail(codes.Internal, metrics.ReasonSign, "failed to sign certificate", err)
	}
	if ce := s.opts.Logger.Check(zap.DebugLevel, "Signed certificate"); ce != nil {
		ce.Write(zap.String(log.KeySPIFFEID, id.String()), zap.String(log.KeySerial, issued.Serial),
			zap.Time(log.KeyNotAfter, issued.NotAfter), zap.String(log.KeyValidator, string(name)))
	}
	resp := &sentryv1.SignCertificateResponse{
		WorkloadCertificate:    issued.ChainPEM,
		TrustChainCertificates: [][]byte{issued.TrustAnchorsPEM},
		ValidUntil:             timestamppb.New(issued.NotAfter),
	}
	if err := s.addJWTs(resp, req, id, issued, iss); err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *service) clusterDomain() string {
	if s.opts.ClusterDomain != "" {
		return s.opts.ClusterDomain
	}
	return s.opts.ControlPlaneTrustDomain.String()
}

// validatorName decodes the wire enum.
func validatorName(v sentryv1.SignCertificateRequest_TokenValidator) (validator.Name, error) {
	switch v {
	case sentryv1.SignCertificateRequest_UNKNOWN:
		return "", nil
	case sentryv1.SignCertificateRequest_INSECURE:
		return validator.Insecure, nil
	case sentryv1.SignCertificateRequest_KUBERNETES:
		return validator.Kubernetes, nil
	case sentryv1.SignCertificateRequest_JWKS:
		return validator.JWKS, nil
	}
	return "", fmt.Errorf("unknown token validator %d", v)
}
