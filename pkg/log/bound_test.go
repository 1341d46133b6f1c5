package log

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBound(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"a short value is kept":            {in: "orders", want: "orders"},
		"a value of MaxEcho bytes is kept": {in: strings.Repeat("a", MaxEcho), want: strings.Repeat("a", MaxEcho)},
		"a long value is cut and measured": {in: strings.Repeat("a", 4_000_000), want: strings.Repeat("a", 64) + "…(4000000 bytes)"},
		"a cut never splits a rune":        {in: strings.Repeat("a", 63) + strings.Repeat("é", 100), want: strings.Repeat("a", 63) + "…(263 bytes)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, Bound(tc.in))
		})
	}
}
