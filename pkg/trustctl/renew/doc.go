// Package renew builds the new trust bundle of a certificate renewal, in
// the three ways Dapr's `dapr mtls renew-certificate` offers:
//
//   - Fresh: a new root and issuer (bundle.Generate). Workloads must be
//     restarted to trust the new root.
//
//   - Reuse the root key (--private-key): a new root certificate for the
//     existing root key, and a new issuer. The new issuer also verifies
//     against the old root certificate workloads already trust, so they need
//     no restart. ParseKey accepts PKCS#8, SEC1 and PKCS#1 PEM holding an
//     ECDSA, RSA or Ed25519 key (Dapr accepts SEC1 ECDSA only). When a root
//     in the cluster has the same key, its subject and subject key
//     identifier are kept, so the chain matches it exactly.
//
//   - Bring your own (--ca-root-certificate, --issuer-private-key,
//     --issuer-public-certificate): the files are checked with bundle.Parse
//     and Verify before anything is written (Dapr writes them unchecked).
//
// Usage:
//
//	key, err := renew.ParseKey(pemBytes)
//	b, err := renew.Generate(renew.Options{TrustDomain: td, Namespace: ns, Now: now, ValidFor: 365 * 24 * time.Hour, RootKey: key})
//	b, err = renew.BringYourOwn(rootsPEM, issuerPEM, keyPEM, now)
//
// Every bundle returned has passed bundle.Parse and bundle.Verify at Now.
package renew
