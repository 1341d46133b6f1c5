package jwtrotate

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
)

// Annotations of the trust bundle Secret that record a JWT key rotation.
const (
	// AnnotationPhase is the last completed Phase.
	AnnotationPhase = "trustplane.io/jwt-rotation-phase"
	// AnnotationKeyAddedAt is when AddKey ran (RFC 3339).
	AnnotationKeyAddedAt = "trustplane.io/jwt-rotation-key-added-at"
	// AnnotationSigningSwitchedAt is when SwitchSigning ran (RFC 3339).
	AnnotationSigningSwitchedAt = "trustplane.io/jwt-rotation-signing-switched-at"
	// AnnotationOldKeyRetiredAt is when RetireOldKey ran (RFC 3339).
	AnnotationOldKeyRetiredAt = "trustplane.io/jwt-rotation-old-key-retired-at"
	// AnnotationOldKey is the RFC 7638 thumbprint of the key being replaced.
	AnnotationOldKey = "trustplane.io/jwt-rotation-old-key"
	// AnnotationNewKey is the RFC 7638 thumbprint of the new key.
	AnnotationNewKey = "trustplane.io/jwt-rotation-new-key"
	// AnnotationClockSkew is daprsystem's allowedClockSkew at the switch (a
	// Go duration).
	AnnotationClockSkew = "trustplane.io/jwt-rotation-clock-skew"
	// AnnotationCertTTL is daprsystem's workloadCertTTL at the switch (a
	// Go duration): no token outlives its certificate.
	AnnotationCertTTL = "trustplane.io/jwt-rotation-cert-ttl"
)

// PendingKeyKey is the Secret key holding the new private key between
// AddKey and SwitchSigning. Sentry does not read it.
const PendingKeyKey = "pending-jwt.key"

// Phase is the last completed phase of a JWT key rotation.
type Phase string

// The phases, in order.
const (
	PhaseNone            Phase = ""
	PhaseKeyAdded        Phase = "key-added"
	PhaseSigningSwitched Phase = "signing-switched"
	PhaseComplete        Phase = "complete"
)

// State is a JWT key rotation as recorded in the Secret.
type State struct {
	Phase             Phase         `json:"phase"`
	KeyAddedAt        time.Time     `json:"keyAddedAt,omitzero"`
	SigningSwitchedAt time.Time     `json:"signingSwitchedAt,omitzero"`
	OldKeyRetiredAt   time.Time     `json:"oldKeyRetiredAt,omitzero"`
	OldKey            string        `json:"oldKey,omitempty"`
	NewKey            string        `json:"newKey,omitempty"`
	ClockSkew         time.Duration `json:"clockSkew,omitempty"`
	CertTTL           time.Duration `json:"certTTL,omitempty"`
}

// StateOf reads the JWT rotation annotations of sec (nil: no rotation).
func StateOf(sec *corev1.Secret) (State, error) {
	var s State
	if sec == nil {
		return s, nil
	}
	a := cluster.Annotations(sec.Annotations)
	var err error
	s.Phase = Phase(a[AnnotationPhase])
	switch s.Phase {
	case PhaseNone, PhaseKeyAdded, PhaseSigningSwitched, PhaseComplete:
	default:
		return s, fmt.Errorf("read annotation %s of Secret %s: unknown phase %q", AnnotationPhase, sec.Name, s.Phase)
	}
	if s.KeyAddedAt, err = a.Time(AnnotationKeyAddedAt); err != nil {
		return s, fmt.Errorf("read Secret %s: %w", sec.Name, err)
	}
	if s.SigningSwitchedAt, err = a.Time(AnnotationSigningSwitchedAt); err != nil {
		return s, fmt.Errorf("read Secret %s: %w", sec.Name, err)
	}
	if s.OldKeyRetiredAt, err = a.Time(AnnotationOldKeyRetiredAt); err != nil {
		return s, fmt.Errorf("read Secret %s: %w", sec.Name, err)
	}
	s.OldKey, s.NewKey = a[AnnotationOldKey], a[AnnotationNewKey]
	if s.ClockSkew, err = a.Duration(AnnotationClockSkew); err != nil {
		return s, fmt.Errorf("read Secret %s: %w", sec.Name, err)
	}
	if s.CertTTL, err = a.Duration(AnnotationCertTTL); err != nil {
		return s, fmt.Errorf("read Secret %s: %w", sec.Name, err)
	}
	return s, nil
}

// annotate writes s into the annotations of sec.
func (s State) annotate(sec *corev1.Secret) {
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	a := cluster.Annotations(sec.Annotations)
	a.Set(AnnotationPhase, string(s.Phase))
	a.SetTime(AnnotationKeyAddedAt, s.KeyAddedAt)
	a.SetTime(AnnotationSigningSwitchedAt, s.SigningSwitchedAt)
	a.SetTime(AnnotationOldKeyRetiredAt, s.OldKeyRetiredAt)
	a.Set(AnnotationOldKey, s.OldKey)
	a.Set(AnnotationNewKey, s.NewKey)
	a.SetDuration(AnnotationClockSkew, s.ClockSkew)
	a.SetDuration(AnnotationCertTTL, s.CertTTL)
}
