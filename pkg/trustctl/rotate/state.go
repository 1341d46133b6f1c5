package rotate

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Annotations of the trust bundle Secret that record a rotation.
const (
	// AnnotationPhase is the last completed Phase.
	AnnotationPhase = "trustplane.io/rotation-phase"
	// AnnotationRootAddedAt is when phase 1 ran (RFC 3339).
	AnnotationRootAddedAt = "trustplane.io/rotation-root-added-at"
	// AnnotationIssuerSwitchedAt is when phase 2 ran (RFC 3339).
	AnnotationIssuerSwitchedAt = "trustplane.io/rotation-issuer-switched-at"
	// AnnotationOldRootRemovedAt is when phase 3 ran (RFC 3339).
	AnnotationOldRootRemovedAt = "trustplane.io/rotation-old-root-removed-at"
	// AnnotationOldRoots lists the SHA-256 fingerprints of the roots that
	// phase 3 removes, comma separated.
	AnnotationOldRoots = "trustplane.io/rotation-old-roots"
	// AnnotationMaxLeafLifetime is workloadCertTTL + allowedClockSkew at
	// phase 2 (a Go duration).
	AnnotationMaxLeafLifetime = "trustplane.io/rotation-max-leaf-lifetime"
)

// Secret keys holding the issuer of phase 1 until phase 2.
const (
	PendingIssuerKey = "pending-issuer.crt"
	PendingKeyKey    = "pending-issuer.key"
)

// Phase is the last completed phase of a rotation.
type Phase string

// The phases, in order.
const (
	PhaseNone           Phase = ""
	PhaseRootAdded      Phase = "root-added"
	PhaseIssuerSwitched Phase = "issuer-switched"
	PhaseComplete       Phase = "complete"
)

// State is a rotation as recorded in the Secret.
type State struct {
	Phase            Phase         `json:"phase"`
	RootAddedAt      time.Time     `json:"rootAddedAt,omitzero"`
	IssuerSwitchedAt time.Time     `json:"issuerSwitchedAt,omitzero"`
	OldRootRemovedAt time.Time     `json:"oldRootRemovedAt,omitzero"`
	OldRoots         []string      `json:"oldRoots,omitempty"`
	MaxLeafLifetime  time.Duration `json:"maxLeafLifetime,omitempty"`
}

// StateOf reads the rotation annotations of sec (nil: no rotation).
func StateOf(sec *corev1.Secret) (State, error) {
	var s State
	if sec == nil {
		return s, nil
	}
	a := sec.Annotations
	s.Phase = Phase(a[AnnotationPhase])
	switch s.Phase {
	case PhaseNone, PhaseRootAdded, PhaseIssuerSwitched, PhaseComplete:
	default:
		return s, fmt.Errorf("read annotation %s of Secret %s: unknown phase %q", AnnotationPhase, sec.Name, s.Phase)
	}
	for key, dst := range map[string]*time.Time{
		AnnotationRootAddedAt: &s.RootAddedAt, AnnotationIssuerSwitchedAt: &s.IssuerSwitchedAt, AnnotationOldRootRemovedAt: &s.OldRootRemovedAt,
	} {
		if v := a[key]; v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return s, fmt.Errorf("read annotation %s of Secret %s: %w", key, sec.Name, err)
			}
			*dst = t
		}
	}
	if v := a[AnnotationOldRoots]; v != "" {
		s.OldRoots = strings.Split(v, ",")
	}
	if v := a[AnnotationMaxLeafLifetime]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return s, fmt.Errorf("read annotation %s of Secret %s: %w", AnnotationMaxLeafLifetime, sec.Name, err)
		}
		s.MaxLeafLifetime = d
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
	set(AnnotationRootAddedAt, ts(s.RootAddedAt))
	set(AnnotationIssuerSwitchedAt, ts(s.IssuerSwitchedAt))
	set(AnnotationOldRootRemovedAt, ts(s.OldRootRemovedAt))
	set(AnnotationOldRoots, strings.Join(s.OldRoots, ","))
	if s.MaxLeafLifetime > 0 {
		set(AnnotationMaxLeafLifetime, s.MaxLeafLifetime.String())
	} else {
		delete(a, AnnotationMaxLeafLifetime)
	}
}

// Fingerprint is the hex SHA-256 of a certificate's DER.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// fingerprints returns the sorted fingerprints of certs.
func fingerprints(certs []*x509.Certificate) []string {
	out := make([]string, 0, len(certs))
	for _, c := range certs {
		out = append(out, Fingerprint(c))
	}
	sort.Strings(out)
	return out
}
