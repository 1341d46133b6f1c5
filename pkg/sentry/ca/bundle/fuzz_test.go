package bundle_test

import (
	"crypto"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
)

func FuzzParse(f *testing.F) {
	f.Add(readTestdata(f, "root.crt"), readTestdata(f, "issuer.crt"), readTestdata(f, "issuer.key"))
	f.Add(readTestdata(f, "roots.crt"), readTestdata(f, "issuer-chain.crt"), readTestdata(f, "issuer-pkcs8.key"))
	f.Add(readTestdata(f, "root.crt"), readTestdata(f, "rsa-issuer.crt"), readTestdata(f, "rsa-issuer.key"))
	f.Add(readTestdata(f, "step-root.crt"), readTestdata(f, "step-intermediate.crt"), readTestdata(f, "step-intermediate.key"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), []byte{}, []byte("-----BEGIN EC PARAMETERS-----\n-----END EC PARAMETERS-----\n"))
	f.Fuzz(func(t *testing.T, roots, issuer, key []byte) {
		b, err := bundle.Parse(roots, issuer, key)
		if err != nil {
			var be *bundle.Error
			require.True(t, errors.As(err, &be), "a *bundle.Error, got %T: %v", err, err)
			require.Contains(t, []bundle.Part{bundle.PartRoots, bundle.PartIssuer, bundle.PartKey}, be.Part)
			require.Nil(t, b)
			return
		}
		require.NotEmpty(t, b.Roots)
		require.NotNil(t, b.Issuer())
		pub, ok := b.IssuerKey.Public().(interface{ Equal(crypto.PublicKey) bool })
		require.True(t, ok)
		require.True(t, pub.Equal(b.Issuer().PublicKey))
		again, err := bundle.Parse(b.RootsPEM, b.IssuerChainPEM, b.IssuerKeyPEM)
		require.NoError(t, err, "a parsed bundle's stored form parses again")
		require.True(t, again.Equal(b))
	})
}
