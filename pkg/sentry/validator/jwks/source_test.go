package jwks

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

func TestParseSource(t *testing.T) {
	js := `{"keys":[]}`
	tests := map[string]struct {
		source string
		kind   sourceKind
		inline string
		path   string
		err    string
	}{
		"an https URL is a URL source":             {source: "https://issuer.example/jwks.json", kind: sourceURL},
		"an http URL is a URL source":              {source: "http://127.0.0.1:8080/jwks", kind: sourceURL},
		"the scheme is matched case-insensitively": {source: "HTTPS://issuer.example/jwks", kind: sourceURL},
		"JSON is an inline source":                 {source: "  " + js + "\n", kind: sourceInline, inline: js},
		"padded standard base64 is an inline source": {
			source: base64.StdEncoding.EncodeToString([]byte(js)), kind: sourceInline, inline: js,
		},
		"unpadded standard base64 is an inline source": {
			source: base64.RawStdEncoding.EncodeToString([]byte(js)), kind: sourceInline, inline: js,
		},
		"URL-alphabet base64 is an inline source": {
			source: base64.URLEncoding.EncodeToString([]byte(`{"keys":[{"k":"???>>>"}]}`)),
			kind:   sourceInline, inline: `{"keys":[{"k":"???>>>"}]}`,
		},
		"an absolute path is a file source":      {source: "/etc/dapr/jwks.json", kind: sourceFile, path: "/etc/dapr/jwks.json"},
		"a relative path is a file source":       {source: "jwks.json", kind: sourceFile, path: "jwks.json"},
		"a URL without a host is rejected":       {source: "https:///jwks.json", err: "no host"},
		"a multi-line non-JSON text is rejected": {source: "keys:\n - a", err: "neither a URL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, err := parseSource(tc.source)
			if tc.err != "" {
				require.ErrorIs(t, err, ErrInvalidOptions)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.kind, src.kind)
			if tc.inline != "" {
				assert.JSONEq(t, tc.inline, string(src.inline))
			}
			assert.Equal(t, tc.path, src.path)
		})
	}
}

func TestInlineSources(t *testing.T) {
	k := newKey(t, jwa.ES256, "k1")
	set := keySetJSON(t, k)
	sources := map[string]string{
		"inline JSON is ready at once and verifies tokens":            string(set),
		"inline padded base64 is ready at once and verifies tokens":   base64.StdEncoding.EncodeToString(set),
		"inline unpadded base64 is ready at once and verifies tokens": base64.RawURLEncoding.EncodeToString(set),
	}
	for name, source := range sources {
		t.Run(name, func(t *testing.T) {
			opts, _, _ := testOptions(source)
			v, err := New(opts)
			require.NoError(t, err)
			require.True(t, v.Ready())
			id, err := v.Validate(t.Context(), validator.Request{HasCSR: true, AppID: "orders", Namespace: "default", Token: mint(t, k, validClaims())})
			require.NoError(t, err)
			assert.Equal(t, testSubject, id.String())
		})
	}
}

func TestParseKeySet(t *testing.T) {
	es := newKey(t, jwa.ES256, "es")
	rs := newKey(t, jwa.RS256, "rs")
	private := func(k testKey) json.RawMessage {
		b, err := json.Marshal(k.priv)
		require.NoError(t, err)
		return b
	}
	set := func(keys ...json.RawMessage) []byte {
		b, err := json.Marshal(map[string]any{"keys": keys})
		require.NoError(t, err)
		return b
	}
	oct := json.RawMessage(`{"kty":"oct","kid":"s","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}`)
	encKey := func(k testKey) json.RawMessage {
		var m map[string]any
		require.NoError(t, json.Unmarshal(keySetJSON(t, k), &m))
		key := m["keys"].([]any)[0].(map[string]any)
		key["use"] = "enc"
		b, err := json.Marshal(key)
		require.NoError(t, err)
		return b
	}

	tests := map[string]struct {
		input    []byte
		wantKids []string
		err      error
		errText  string
	}{
		"a set of public keys is kept": {input: keySetJSON(t, es, rs), wantKids: []string{"es", "rs"}},
		"private keys are reduced to their public part": {
			input: set(private(es), private(rs)), wantKids: []string{"es", "rs"},
		},
		"a single JWK is a set of one": {input: private(es), wantKids: []string{"es"}},
		"symmetric keys are dropped":   {input: set(oct, private(es)), wantKids: []string{"es"}},
		"encryption keys are dropped":  {input: set(encKey(rs), private(es)), wantKids: []string{"es"}},
		"a set of only symmetric keys is rejected": {
			input: set(oct), err: ErrNoUsableKeys,
		},
		"an empty set is rejected":   {input: []byte(`{"keys":[]}`), err: ErrNoUsableKeys},
		"invalid JSON is rejected":   {input: []byte(`{"keys":`), errText: "parse JWKS"},
		"an empty input is rejected": {input: nil, errText: "parse JWKS"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseKeySet(tc.input)
			if tc.err != nil || tc.errText != "" {
				require.Error(t, err)
				if tc.err != nil {
					assert.ErrorIs(t, err, tc.err)
				}
				assert.Contains(t, err.Error(), tc.errText)
				return
			}
			require.NoError(t, err)
			var kids []string
			for i := range got.Len() {
				key, _ := got.Key(i)
				kids = append(kids, key.KeyID())
				switch key.(type) {
				case jwk.RSAPrivateKey, jwk.ECDSAPrivateKey, jwk.OKPPrivateKey:
					t.Errorf("key %q is private; only public keys may remain", key.KeyID())
				}
			}
			assert.ElementsMatch(t, tc.wantKids, kids)
		})
	}
}
