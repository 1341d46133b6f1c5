package log

import (
	"fmt"
	"unicode/utf8"
)

// MaxEcho is the longest request-derived value echoed whole in a log line
// or an error message; longer ones are cut by Bound.
const MaxEcho = 128

// Bound returns s when it is at most MaxEcho bytes, else its first 64
// bytes (cut on a rune boundary) and its length, so that a hostile caller
// cannot make Sentry write megabytes of log or error text.
func Bound(s string) string {
	if len(s) <= MaxEcho {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}
