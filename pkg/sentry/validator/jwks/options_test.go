package jwks

import (
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOptionsFromMap(t *testing.T) {
	tests := map[string]struct {
		in      map[string]string
		want    Options
		errText string
	}{
		"an empty map gives empty options": {in: map[string]string{}, want: Options{}},
		"all options are read": {
			in: map[string]string{
				"source":             "https://issuer.example/jwks.json",
				"caCertificate":      "/etc/ca.pem",
				"minRefreshInterval": "15m",
				"requestTimeout":     "5s",
			},
			want: Options{Source: "https://issuer.example/jwks.json", CACertificate: "/etc/ca.pem", MinRefreshInterval: 15 * time.Minute, RequestTimeout: 5 * time.Second},
		},
		"durations may be whole seconds": {
			in:   map[string]string{"minRefreshInterval": "120", "requestTimeout": " 3 "},
			want: Options{MinRefreshInterval: 2 * time.Minute, RequestTimeout: 3 * time.Second},
		},
		"an empty duration means the default": {
			in:   map[string]string{"requestTimeout": ""},
			want: Options{},
		},
		"keys are matched case-insensitively": {
			in:   map[string]string{"Source": "/jwks.json", "cacertificate": "pem"},
			want: Options{Source: "/jwks.json", CACertificate: "pem"},
		},
		"an unknown key is rejected by name": {
			in: map[string]string{"source": "x", "audience": "y"}, errText: `unknown option "audience"`,
		},
		"a key given twice in different case is rejected": {
			in: map[string]string{"source": "x", "SOURCE": "y"}, errText: "both set source",
		},
		"a malformed duration is rejected by name": {
			in: map[string]string{"minRefreshInterval": "ten minutes"}, errText: `option "minRefreshInterval"`,
		},
		"a negative duration is rejected by name": {
			in: map[string]string{"requestTimeout": "-5s"}, errText: `option "requestTimeout": -5s is negative`,
		},
		"negative seconds are rejected by name": {
			in: map[string]string{"requestTimeout": "-5"}, errText: `option "requestTimeout": -5s is negative`,
		},
		"a number of seconds that overflows is rejected": {
			in: map[string]string{"requestTimeout": "9223372036854775807"}, errText: "too long",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := OptionsFromMap(tc.in)
			if tc.errText != "" {
				require.ErrorIs(t, err, ErrInvalidOptions)
				assert.Contains(t, err.Error(), tc.errText)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestNewDefaults(t *testing.T) {
	v, err := New(Options{SentryID: testSentryID, Source: "https://issuer.example/jwks.json"})
	require.NoError(t, err)
	t.Cleanup(v.client.CloseIdleConnections)
	assert.Equal(t, DefaultMinRefreshInterval, v.opts.MinRefreshInterval)
	assert.Equal(t, DefaultRequestTimeout, v.opts.RequestTimeout)
	assert.Equal(t, DefaultRequestTimeout, v.client.Timeout)
	assert.Equal(t, DefaultAllowedClockSkew, v.opts.AllowedClockSkew)
	assert.NotNil(t, v.opts.Clock)
	assert.NotNil(t, v.logger)
}

func TestNewRejectsBadOptions(t *testing.T) {
	inline := string(keySetJSON(t, newKey(t, jwa.ES256, "k")))
	srv := httptest.NewTLSServer(nil)
	srv.Close()
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))

	tests := map[string]struct {
		opts    Options
		errText string
	}{
		"a missing Sentry ID is rejected": {
			opts: Options{Source: inline}, errText: "Sentry ID",
		},
		"an empty source is rejected": {
			opts: Options{SentryID: testSentryID, Source: "  "}, errText: "source is required",
		},
		"inline JSON that is no key set is rejected": {
			opts: Options{SentryID: testSentryID, Source: `{"keys":`}, errText: "inline source",
		},
		"an inline set with only a symmetric key is rejected": {
			opts:    Options{SentryID: testSentryID, Source: `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`},
			errText: "no usable public signing key",
		},
		"a URL without host is rejected": {
			opts: Options{SentryID: testSentryID, Source: "https://"}, errText: "no host",
		},
		"a CA that is not PEM is rejected": {
			opts: Options{SentryID: testSentryID, Source: "https://issuer.example", CACertificate: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"}, errText: "no PEM certificate",
		},
		"a CA file that is not PEM is rejected": {
			opts: Options{SentryID: testSentryID, Source: "https://issuer.example", CACertificate: notPEM}, errText: "no PEM certificate",
		},
		"a missing CA file is rejected": {
			opts: Options{SentryID: testSentryID, Source: "https://issuer.example", CACertificate: "/does/not/exist.pem"}, errText: "read caCertificate file",
		},
		"a CA for an http source is rejected": {
			opts: Options{SentryID: testSentryID, Source: "http://issuer.example", CACertificate: caPEM}, errText: "https source only",
		},
		"a CA for an inline source is rejected": {
			opts: Options{SentryID: testSentryID, Source: inline, CACertificate: caPEM}, errText: "https source only",
		},
		"a CA for a file source is rejected": {
			opts: Options{SentryID: testSentryID, Source: "/etc/jwks.json", CACertificate: caPEM}, errText: "https source only",
		},
		"a refresh interval under a second is rejected": {
			opts: Options{SentryID: testSentryID, Source: inline, MinRefreshInterval: 500 * time.Millisecond}, errText: "minRefreshInterval 500ms is shorter than 1s",
		},
		"a request timeout under a millisecond is rejected": {
			opts: Options{SentryID: testSentryID, Source: inline, RequestTimeout: time.Microsecond}, errText: "requestTimeout",
		},
		"a negative clock skew is rejected": {
			opts: Options{SentryID: testSentryID, Source: inline, AllowedClockSkew: -time.Second}, errText: "negative",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, err := New(tc.opts)
			require.ErrorIs(t, err, ErrInvalidOptions)
			assert.Nil(t, v)
			assert.Contains(t, err.Error(), tc.errText)
		})
	}
}
