package status

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// MTLSLine is Dapr's CLI sentence for spec.mtls.enabled.
func MTLSLine(enabled bool) string {
	if enabled {
		return "Mutual TLS is enabled in your Kubernetes cluster"
	}
	return "Mutual TLS is disabled in your Kubernetes cluster"
}

// WriteTable writes s for a terminal: the mTLS sentence, the settings, then
// a table of the certificates.
func WriteTable(w io.Writer, s Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, MTLSLine(s.MTLSEnabled))
	fmt.Fprintln(tw)
	cfg := "daprsystem"
	if !s.ConfigurationFound {
		cfg = "not found (defaults apply)"
	}
	td := s.TrustDomain
	if s.TrustDomainDefault {
		td += " (default; spec.mtls.controlPlaneTrustDomain is not set)"
	}
	anchors := "in sync with the Secret"
	if !s.ConfigMapInSync {
		anchors = "DIFFERENT from the Secret's roots (a rotation in progress, or stale)"
	}
	rows := [][2]string{
		{"Namespace", s.Namespace},
		{"Configuration", cfg},
		{"Trust domain", td},
		{"Workload cert TTL", s.WorkloadCertTTL},
		{"Allowed clock skew", s.AllowedClockSkew},
		{"Published anchors", anchors},
	}
	if s.SecretOwner != "" {
		rows = append(rows, [2]string{"Trust bundle owner", s.SecretOwner})
	}
	for _, kv := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	fmt.Fprintln(tw)
	writeCerts(tw, s.Certificates)
	return tw.Flush()
}

// Expiry is what `trustctl mtls expiry` reports.
type Expiry struct {
	// Namespace is the control plane's namespace.
	Namespace string `json:"namespace"`
	// Level is the most urgent state of the checked certificates.
	Level Level `json:"level"`
	// ThresholdDays is the warning threshold in days.
	ThresholdDays int `json:"thresholdDays"`
	// Certificates are the roots, then the issuer chain.
	Certificates []Certificate `json:"certificates"`
}

// WriteExpiryTable writes e for a terminal.
func WriteExpiryTable(w io.Writer, e Expiry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	writeCerts(tw, e.Certificates)
	fmt.Fprintln(tw)
	switch e.Level {
	case LevelOK:
		fmt.Fprintf(tw, "OK: no certificate expires within %d days.\n", e.ThresholdDays)
	case LevelExpiring:
		fmt.Fprintf(tw, "EXPIRING: a certificate expires within %d days.\n", e.ThresholdDays)
	case LevelExpired:
		fmt.Fprintln(tw, "EXPIRED: a certificate has expired.")
	}
	return tw.Flush()
}

func writeCerts(w io.Writer, certs []Certificate) {
	fmt.Fprintln(w, "ROLE\tSUBJECT\tKEY\tNOT BEFORE\tNOT AFTER\tEXPIRES\tSHA-256")
	for _, c := range certs {
		role := c.Role
		if c.Role == RoleRoot && !c.SigningRoot {
			role += " (anchor only)"
		}
		subject := c.Subject
		if subject == "" {
			subject = "(empty)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", role, subject, c.KeyAlgorithm,
			c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339), expiresIn(c), c.SHA256[:16])
	}
}

func expiresIn(c Certificate) string {
	switch {
	case c.Expired:
		return "EXPIRED"
	case c.DaysRemaining == 0:
		return "< 1 day"
	case c.DaysRemaining == 1:
		return "in 1 day"
	}
	return fmt.Sprintf("in %d days", c.DaysRemaining)
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
