package server

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Sizes no test can afford to generate a key of.
func TestCheckKeyPolicy_Bounds(t *testing.T) {
	rsaOf := func(bits uint) *rsa.PublicKey {
		return &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), bits-1), E: 65537}
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	tests := map[string]struct {
		key     any
		wantMsg string
	}{
		"RSA 8192 is the largest allowed":  {key: rsaOf(8192)},
		"RSA 2048 is the smallest allowed": {key: rsaOf(2048)},
		"RSA 8193 is refused":              {key: rsaOf(8193), wantMsg: "RSA key of 8193 bits, use 2048 to 8192"},
		"RSA 2047 is refused":              {key: rsaOf(2047), wantMsg: "RSA key of 2047 bits, use 2048 to 8192"},
		"an X25519 key is refused":         {key: x25519.PublicKey(), wantMsg: "*ecdh.PublicKey keys are not allowed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := checkKeyPolicy(tc.key)
			if tc.wantMsg == "" {
				assert.NoError(t, err)
				return
			}
			assert.True(t, errors.Is(err, ErrCSRKeyPolicy))
			assert.ErrorContains(t, err, tc.wantMsg)
		})
	}
}
