package sentry

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSentryLogsInDaprsJSONShape(t *testing.T) {
	p := startSentry(t, t.TempDir(), "--log-as-json")
	sc := bufio.NewScanner(strings.NewReader(p.Logs.String()))
	lines := 0
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "every line is JSON: %s", sc.Text())
		for _, k := range []string{"time", "level", "msg", "scope", "type", "instance", "ver"} {
			assert.Contains(t, line, k, "line %s", sc.Text())
		}
		assert.Equal(t, "log", line["type"])
		assert.True(t, strings.HasPrefix(line["scope"].(string), "dapr.sentry"), "scope %v", line["scope"])
		lines++
	}
	assert.Positive(t, lines)
	assert.Contains(t, p.Logs.String(), `"msg":"Root and issuer certs not found: generating self signed CA"`)
}
