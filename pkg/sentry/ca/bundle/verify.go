package bundle

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Verify checks the bundle at now: every check Parse makes, then that no
// root or chain certificate is expired or not yet valid, and that the issuer
// chain verifies to one of the roots. Any problem is an *Error; the time
// problems wrap ErrExpired or ErrNotYetValid and name the certificate and the
// date. Only the root the issuer chains to must be valid: an expired root
// kept beside it (a finished rotation) is still published as an anchor,
// harmlessly, and reported by ExpiredRoots so that it can be removed.
func (b *Bundle) Verify(now time.Time) error {
	if b == nil {
		return errors.New("verify trust bundle: no bundle")
	}
	if err := b.check(); err != nil {
		return err
	}
	last := b.IssuerChain[len(b.IssuerChain)-1]
	for i, r := range b.Roots {
		if last.CheckSignatureFrom(r) == nil {
			if err := checkValidity(i, r, now); err != nil {
				return &Error{Part: PartRoots, Err: err}
			}
		}
	}
	for i, c := range b.IssuerChain {
		if err := checkValidity(i, c, now); err != nil {
			return &Error{Part: PartIssuer, Err: err}
		}
	}
	opts := x509.VerifyOptions{
		Roots:       b.RootPool(),
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	if len(b.IssuerChain) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range b.IssuerChain[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	if _, err := b.IssuerChain[0].Verify(opts); err != nil {
		return partErr(PartIssuer, "%w: issuer %s does not verify to the roots at %s: %w",
			ErrNotChained, subjectOf(b.IssuerChain[0]), now.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// ExpiredRoots returns the roots that are past their NotAfter at now.
func (b *Bundle) ExpiredRoots(now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for _, r := range b.Roots {
		if now.After(r.NotAfter) {
			out = append(out, r)
		}
	}
	return out
}

// checkValidity reports whether c is outside its validity period at now.
func checkValidity(i int, c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("%w: %s expired at %s (now is %s)", ErrExpired, describe(i, c),
			c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case now.Before(c.NotBefore):
		return fmt.Errorf("%w: %s is valid only from %s (now is %s)", ErrNotYetValid, describe(i, c),
			c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}
