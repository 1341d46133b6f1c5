package expiry

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

// Certificate names the kind of certificate a warning is about; it is also
// the "certificate" label of the warnings counter.
type Certificate string

// The kinds of certificate the checker warns about.
const (
	Root   Certificate = "root"
	Issuer Certificate = "issuer"
)

// Warning is one certificate due for a warning at one check.
type Warning struct {
	// Certificate is the kind of certificate, Root or Issuer.
	Certificate Certificate
	// Serial is the certificate's serial number in lowercase hex, as the
	// dapr_sentry_rootcert_expiry_timestamp metric labels it.
	Serial string
	// NotAfter is the certificate's expiry.
	NotAfter time.Time
	// Expired reports whether the certificate has expired.
	Expired bool
	// Message is the log line's text, in Dapr's words.
	Message string
}

// Reason is a CamelCase reason for a Kubernetes Event about w, such as
// "RootCertificateExpiring" or "IssuerCertificateExpired".
func (w Warning) Reason() string {
	kind := "Root"
	if w.Certificate == Issuer {
		kind = "Issuer"
	}
	if w.Expired {
		return kind + "CertificateExpired"
	}
	return kind + "CertificateExpiring"
}

// due returns the warnings for b at now: one for every root and for the
// issuer that expire within threshold or have expired, roots first in file
// order. An empty or nil bundle has none.
func due(b *bundle.Bundle, now time.Time, threshold time.Duration) []Warning {
	if b == nil {
		return nil
	}
	var out []Warning
	add := func(kind Certificate, c *x509.Certificate) {
		if c == nil {
			return
		}
		left := c.NotAfter.Sub(now)
		if left > threshold {
			return
		}
		w := Warning{Certificate: kind, Serial: c.SerialNumber.Text(16), NotAfter: c.NotAfter, Expired: now.After(c.NotAfter)}
		w.Message = message(kind, left, w.Expired)
		out = append(out, w)
	}
	for _, r := range b.Roots {
		add(Root, r)
	}
	add(Issuer, b.Issuer())
	return out
}

// message is the log text for a certificate of kind with left to go.
func message(kind Certificate, left time.Duration, expired bool) string {
	prefix := "Dapr " + string(kind) + " certificate expiration warning: "
	if expired {
		return prefix + "certificate has expired."
	}
	return prefix + "certificate expires in " + remaining(left)
}

// remaining spells d in whole days and hours, truncated: "2 days and 15
// hours", "1 day and 1 hour", "5 hours", "3 days", or "less than an hour".
func remaining(d time.Duration) string {
	hours := int64(d / time.Hour)
	if hours <= 0 {
		return "less than an hour"
	}
	var parts []string
	if days := hours / 24; days > 0 {
		parts = append(parts, plural(days, "day"))
	}
	if h := hours % 24; h > 0 {
		parts = append(parts, plural(h, "hour"))
	}
	return strings.Join(parts, " and ")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
