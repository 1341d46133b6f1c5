package jwtrotate

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
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
}

// StateOf reads the JWT rotation annotations of sec (nil: no rotation).
func StateOf(sec *corev1.Secret) (State, error) {
	var s State
	if sec == nil {
		return s, nil
	}
	a := sec.Annotations
	s.Phase = Phase(a[AnnotationPhase])
	switch s.Phase {
	case PhaseNone, PhaseKeyAdded, PhaseSigningSwitched, PhaseComplete:
	default:
		return s, fmt.Errorf("read annotation %s of Secret %s: unknown phase %q", AnnotationPhase, sec.Name, s.Phase)
	}
	for key, dst := range map[string]*time.Time{
		AnnotationKeyAddedAt: &s.KeyAddedAt, AnnotationSigningSwitchedAt: &s.SigningSwitchedAt, AnnotationOldKeyRetiredAt: &s.OldKeyRetiredAt,
	} {
		if v := a[key]; v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return s, fmt.Errorf("read annotation %s of Secret %s: %w", key, sec.Name, err)
			}
			*dst = t
		}
	}
	s.OldKey, s.NewKey = a[AnnotationOldKey], a[AnnotationNewKey]
	if v := a[AnnotationClockSkew]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return s, fmt.Errorf("read annotation %s of Secret %s: %w", AnnotationClockSkew, sec.Name, err)
		}
		s.ClockSkew = d
	}
	return s, nil
}

// annotate writes s into the annotations of sec.
func (s State) annotate(sec *corev1.Secret) {
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	a := sec.Annotations
	set := func(k, v string) {
		if v == "" {
			delete(a, k)
			return
		}
		a[k] = v
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	set(AnnotationPhase, string(s.Phase))
	set(AnnotationKeyAddedAt, ts(s.KeyAddedAt))
	set(AnnotationSigningSwitchedAt, ts(s.SigningSwitchedAt))
	set(AnnotationOldKeyRetiredAt, ts(s.OldKeyRetiredAt))
	set(AnnotationOldKey, s.OldKey)
	set(AnnotationNewKey, s.NewKey)
	if s.ClockSkew > 0 {
		set(AnnotationClockSkew, s.ClockSkew.String())
	} else {
		delete(a, AnnotationClockSkew)
	}
}
