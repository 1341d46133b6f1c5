// Package expiry warns, once an hour, about trust-bundle certificates that
// are about to expire or have expired: every root in the bundle and the
// issuer that signs workload certificates.
//
// A certificate is due for a warning from Threshold (30 days) before its
// NotAfter. The log line keeps the text Dapr 1.8–1.11 documented, so
// existing log alerts keep matching, with singular and plural right:
//
//	Dapr root certificate expiration warning: certificate expires in 2 days and 15 hours
//	Dapr root certificate expiration warning: certificate expires in 1 day and 1 hour
//	Dapr root certificate expiration warning: certificate expires in 5 hours
//	Dapr root certificate expiration warning: certificate expires in 3 days
//	Dapr root certificate expiration warning: certificate expires in less than an hour
//	Dapr root certificate expiration warning: certificate has expired.
//
// The issuer's lines say "Dapr issuer certificate" instead. The time left
// is truncated to whole hours (47h59m is "1 day and 23 hours"); a zero part
// is left out rather than printed as "0 days". A certificate is expired
// once the clock is past its NotAfter, as crypto/x509 judges it. Each line
// carries the certificate's serial (hex) and NotAfter as fields, so several
// roots in one bundle can be told apart.
//
// The checker reads the current bundle at every check, so a hot-reloaded
// bundle is followed, and it logs with the logger it is given, unnamed: in
// Sentry that logger is scoped "dapr.sentry", the scope Dapr's lines had.
// Only the issuer itself is checked among the issuer chain's certificates,
// not intermediates above it.
//
// Usage (pkg/sentry does this):
//
//	c, err := expiry.New(expiry.Options{
//		Bundle:    authority.Bundle,
//		Clock:     clk,
//		Logger:    logger,
//		OnWarning: func(w expiry.Warning) { counter.WithLabelValues(string(w.Certificate)).Inc() },
//	})
//	err = c.Start(ctx) // checks now, then every hour, until ctx is done
package expiry
