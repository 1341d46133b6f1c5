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

	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
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
	a := cluster.Annotations(sec.Annotations)
	var err error
	s.Phase = Phase(a[AnnotationPhase])
	switch s.Phase {
	case PhaseNone, PhaseRootAdded, PhaseIssuerSwitched, PhaseComplete:
	default:
		return s, fmt.Errorf("read annotation %s of Secret %s: unknown phase %q", AnnotationPhase, sec.Name, s.Phase)
	}
	if s.RootAddedAt, err = a.Time(AnnotationRootAddedAt); err != nil {
		return s, fmt.Errorf("read Secret %s: %w", sec.Name, err)
	}
	if s.IssuerSwitchedAt, err = a.Time(AnnotationIssuerSwitchedAt); err != nil {
		return s, fmt.Errorf("read Secret %s: %w", sec.Name, err)
	}
	if s.OldRootRemovedAt, err = a.Time(AnnotationOldRootRemovedAt); err != nil {
		return s, fmt.Errorf("read Secret %s: %w", sec.Name, err)
	}
	if v := a[AnnotationOldRoots]; v != "" {
		s.OldRoots = strings.Split(v, ",")
	}
	if s.MaxLeafLifetime, err = a.Duration(AnnotationMaxLeafLifetime); err != nil {
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
	a.SetTime(AnnotationRootAddedAt, s.RootAddedAt)
	a.SetTime(AnnotationIssuerSwitchedAt, s.IssuerSwitchedAt)
	a.SetTime(AnnotationOldRootRemovedAt, s.OldRootRemovedAt)
	a.Set(AnnotationOldRoots, strings.Join(s.OldRoots, ","))
	a.SetDuration(AnnotationMaxLeafLifetime, s.MaxLeafLifetime)
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
