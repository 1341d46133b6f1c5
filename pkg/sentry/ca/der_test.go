package ca

import (
	"crypto/rand"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestAppendCertPEM_WritesWhatPEMEncodeWrites(t *testing.T) {
	for n := 0; n <= 3*pemChunk+1; n++ {
		der := make([]byte, n)
		_, err := rand.Read(der)
		require.NoError(t, err)
		want := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		got := appendCertPEM(nil, der)
		require.Equal(t, string(want), string(got), "%d DER bytes", n)
		require.Len(t, got, pemCertSize(der), "%d DER bytes: the size is known before writing", n)
	}
}

func TestDERWriter_MatchesCryptobyte(t *testing.T) {
	serials := map[string]*big.Int{
		"zero is one zero octet":                   big.NewInt(0),
		"a small serial is one octet":              big.NewInt(1),
		"a top bit set gets a leading zero":        big.NewInt(0x80),
		"the largest 128-bit serial":               new(big.Int).Sub(serialLimit, big.NewInt(1)),
		"a 128-bit serial without the top bit set": new(big.Int).Rsh(serialLimit, 2),
	}
	for name, serial := range serials {
		t.Run(name, func(t *testing.T) {
			var b cryptobyte.Builder
			b.AddASN1BigInt(serial)
			want, err := b.Bytes()
			require.NoError(t, err)
			content := serialContent(serial)
			assert.Equal(t, want, append(appendHeader(nil, tagInteger, len(content)), content...))
		})
	}
	times := map[string]time.Time{
		"2049 is a UTCTime":         time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC),
		"1950 is a UTCTime":         time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC),
		"2050 is a GeneralizedTime": time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC),
		"1949 is a GeneralizedTime": time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC),
		"a zone is written as UTC":  time.Date(2026, 11, 23, 12, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
	for name, tm := range times {
		t.Run(name, func(t *testing.T) {
			var b cryptobyte.Builder
			if y := tm.UTC().Year(); y >= 1950 && y < 2050 {
				b.AddASN1UTCTime(tm.UTC())
			} else {
				b.AddASN1GeneralizedTime(tm.UTC())
			}
			want, err := b.Bytes()
			require.NoError(t, err)
			got := appendTime(nil, tm)
			assert.Equal(t, want, got)
			assert.Len(t, got, timeSize(tm))
		})
	}
	for _, n := range []int{0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000} {
		var b cryptobyte.Builder
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, n)) })
		want, err := b.Bytes()
		require.NoError(t, err)
		got := append(appendHeader(nil, tagSequence, n), make([]byte, n)...)
		assert.Equal(t, want, got, "a SEQUENCE of %d bytes has minimal length octets", n)
		assert.Len(t, got, tlvSize(n))
	}
}
