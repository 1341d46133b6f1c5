package kubernetes

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// maxListed bounds the roots a difference names, to keep Events short.
const maxListed = 4

// rootsDiff is how the ConfigMap's roots differ from the Secret's.
type rootsDiff struct {
	onlySecret    []*x509.Certificate
	onlyConfigMap []*x509.Certificate
	// unreadable is why the ConfigMap's roots could not be read, if so.
	unreadable error
}

// diffRoots compares the ConfigMap's roots with the Secret's (which parsed
// already) as sets of certificates.
func diffRoots(cmPEM, secretPEM []byte) rootsDiff {
	secret, _ := readCerts(secretPEM)
	cm, err := readCerts(cmPEM)
	if err != nil {
		return rootsDiff{unreadable: err}
	}
	return rootsDiff{onlySecret: minus(secret, cm), onlyConfigMap: minus(cm, secret)}
}

// same reports whether both hold the same roots (in other bytes).
func (d rootsDiff) same() bool {
	return d.unreadable == nil && len(d.onlySecret) == 0 && len(d.onlyConfigMap) == 0
}

// String says what differs.
func (d rootsDiff) String() string {
	if d.unreadable != nil {
		return "the ConfigMap's roots cannot be read: " + d.unreadable.Error()
	}
	var parts []string
	if len(d.onlySecret) > 0 {
		parts = append(parts, "roots only in the Secret: "+list(d.onlySecret))
	}
	if len(d.onlyConfigMap) > 0 {
		parts = append(parts, "roots only in the ConfigMap: "+list(d.onlyConfigMap))
	}
	if len(parts) == 0 {
		return "the same roots in other bytes"
	}
	return strings.Join(parts, "; ")
}

func list(certs []*x509.Certificate) string {
	var names []string
	for i, c := range certs {
		if i == maxListed {
			names = append(names, fmt.Sprintf("and %d more", len(certs)-maxListed))
			break
		}
		sum := sha256.Sum256(c.Raw)
		subject := c.Subject.String()
		if subject == "" {
			subject = "empty subject"
		}
		names = append(names, fmt.Sprintf("%q (SHA-256 %s…)", subject, hex.EncodeToString(sum[:8])))
	}
	return strings.Join(names, ", ")
}

// minus returns the certificates of a that are not in b.
func minus(a, b []*x509.Certificate) []*x509.Certificate {
	in := map[string]bool{}
	for _, c := range b {
		in[string(c.Raw)] = true
	}
	var out []*x509.Certificate
	for _, c := range a {
		if !in[string(c.Raw)] {
			out = append(out, c)
		}
	}
	return out
}

// readCerts reads every CERTIFICATE block of data, skipping anything else.
func readCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return certs, nil
}
