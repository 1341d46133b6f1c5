package security

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
)

// anchorSet holds the trust anchors from two places: the configured ones
// (static, or the latest good content of the anchors file) and the latest
// set Sentry returned in trust_chain_certificates. The anchors in use are
// the union of both. The union keeps a rotation safe in either order: a new
// root added to the file is trusted before Sentry hands it out, and a new
// root Sentry hands out is trusted before the file catches up. A root leaves
// the set once neither source names it any more.
type anchorSet struct {
	mu         sync.RWMutex
	configured []*x509.Certificate
	fromSentry []*x509.Certificate
	all        []*x509.Certificate
	fileRaw    []byte // last content read from the anchors file
}

// current returns the anchors in use. The slice must not be modified.
func (a *anchorSet) current() []*x509.Certificate {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.all
}

// setConfigured replaces the configured anchors and reports whether the
// anchors in use changed.
func (a *anchorSet) setConfigured(certs []*x509.Certificate) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.configured = certs
	return a.recompute()
}

// setFromSentry replaces the anchors Sentry returned and reports whether the
// anchors in use changed.
func (a *anchorSet) setFromSentry(certs []*x509.Certificate) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fromSentry = certs
	return a.recompute()
}

// withSentry returns the anchors that would be in use if Sentry's set were
// certs, without changing anything.
func (a *anchorSet) withSentry(certs []*x509.Certificate) []*x509.Certificate {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return union(a.configured, certs)
}

// recompute rebuilds the union; a.mu must be held for writing.
func (a *anchorSet) recompute() bool {
	all := union(a.configured, a.fromSentry)
	changed := !slices.EqualFunc(all, a.all, (*x509.Certificate).Equal)
	a.all = all
	return changed
}

// union returns the certificates of a followed by those of b not in a.
func union(a, b []*x509.Certificate) []*x509.Certificate {
	out := slices.Clone(a)
	for _, c := range b {
		if !slices.ContainsFunc(out, c.Equal) {
			out = append(out, c)
		}
	}
	return out
}

// reloadFile reads the anchors file and, if its content changed and parses,
// makes it the configured set. It reports whether the anchors in use
// changed. A file that cannot be read or parsed leaves everything as it was.
func (a *anchorSet) reloadFile(path string) (bool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("read trust anchors: %w", err)
	}
	a.mu.RLock()
	same := bytes.Equal(raw, a.fileRaw)
	a.mu.RUnlock()
	if same {
		return false, nil
	}
	certs, err := parseAnchors(raw)
	if err != nil {
		return false, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fileRaw = raw
	a.configured = certs
	return a.recompute(), nil
}

// parseAnchors parses a PEM list of CA certificates. Every block must be a
// CERTIFICATE of a CA: a leaf or garbage in the anchors is a configuration
// mistake worth failing loudly on, not something to skip.
func parseAnchors(raw []byte) ([]*x509.Certificate, error) {
	certs, err := parseCertificatesPEM(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidAnchors, err)
	}
	for i, c := range certs {
		if !c.IsCA {
			return nil, fmt.Errorf("%w: certificate %d (%q) is not a CA", ErrInvalidAnchors, i, c.Subject)
		}
	}
	return certs, nil
}

// parseCertificatesPEM parses one or more PEM CERTIFICATE blocks. Text
// around the blocks is ignored; anything else is an error.
func parseCertificatesPEM(raw []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := raw; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d has type %q, want CERTIFICATE", len(certs), block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate %d: %w", len(certs), err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}
