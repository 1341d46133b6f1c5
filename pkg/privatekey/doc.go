// Package privatekey reads and writes the PEM private keys trustplane
// stores: an issuer key, a root key, a JWT signing key.
//
//	key, err := privatekey.Parse(pemBytes) // PKCS#8, SEC1 or PKCS#1
//	pemBytes, err = privatekey.Encode(key) // PKCS#8 "PRIVATE KEY"
package privatekey
