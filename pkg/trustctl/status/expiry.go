package status

import (
	"fmt"
	"time"
)

// Level is how urgent a bundle's expiry is.
type Level int

// Levels, in increasing urgency.
const (
	// LevelOK means every checked certificate outlives the threshold.
	LevelOK Level = iota
	// LevelExpiring means one expires within the threshold.
	LevelExpiring
	// LevelExpired means one has expired.
	LevelExpired
)

// String returns "ok", "expiring" or "expired".
func (l Level) String() string {
	switch l {
	case LevelExpiring:
		return "expiring"
	case LevelExpired:
		return "expired"
	}
	return "ok"
}

// MarshalText makes a Level a JSON string.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Checked reports whether c counts for expiry: the issuer chain and the
// root it chains to. Other roots are kept only as anchors (an old root left
// beside a new one after a rotation) and would warn for nothing.
func Checked(c Certificate) bool {
	return c.Role != RoleRoot || c.SigningRoot
}

// Check returns the most urgent Level of the checked certificates at now.
func Check(certs []Certificate, now time.Time, threshold time.Duration) Level {
	lvl := LevelOK
	for _, c := range certs {
		if !Checked(c) {
			continue
		}
		switch {
		case !now.Before(c.NotAfter):
			return LevelExpired
		case c.NotAfter.Sub(now) < threshold:
			lvl = LevelExpiring
		}
	}
	return lvl
}

// Guidance is the advice that follows an expiry warning.
const Guidance = "Renew it with `trustctl mtls renew-certificate` to avoid service interruptions " +
	"(add --private-key with the current root key to keep workloads trusting the new issuer without a restart; " +
	"see docs.dapr.io for certificate renewal instructions)."

// Warnings returns one warning per checked certificate that expires within
// threshold or has expired, in Dapr's CLI wording, for example:
//
//	⚠  Dapr root certificate of your Kubernetes cluster expires in 10 days. Expiry date: Mon, 02 Jan 2006 15:04:05 UTC.
//	   Renew it with `trustctl mtls renew-certificate` ...
//
// Unlike Dapr's CLI, the issuer is checked too (it usually expires first),
// and a certificate that expired less than a day ago is "expired", not
// "expires today".
func Warnings(certs []Certificate, now time.Time, threshold time.Duration) []string {
	var out []string
	for _, c := range certs {
		if !Checked(c) || c.NotAfter.Sub(now) >= threshold {
			continue
		}
		var when string
		left := c.NotAfter.Sub(now)
		switch days := daysIn(left); {
		case left <= 0:
			when = "has expired"
		case days == 0:
			when = "expires in less than a day"
		case days == 1:
			when = "expires in 1 day"
		default:
			when = fmt.Sprintf("expires in %d days", days)
		}
		out = append(out, fmt.Sprintf("⚠  Dapr %s certificate of your Kubernetes cluster %s. Expiry date: %s.\n   %s",
			c.Role, when, c.NotAfter.UTC().Format(time.RFC1123), Guidance))
	}
	return out
}
