package log_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/trustplane/trustplane/pkg/log"
)

func TestNew_JSONHasDaprsShape(t *testing.T) {
	var buf bytes.Buffer
	l, err := log.New(log.Options{Level: "debug", JSON: true, Scope: "dapr.sentry", Instance: "sentry-0", Version: "1.2.3",
		Output: zapcore.AddSync(&buf)})
	require.NoError(t, err)
	l.Named("ca").Warn("Dapr root certificate expiration warning: certificate expires in 2 days and 15 hours")
	require.NoError(t, l.Sync())

	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	assert.Equal(t, "warning", line["level"], "Dapr writes warning, not warn")
	assert.Equal(t, "dapr.sentry.ca", line["scope"])
	assert.Equal(t, "sentry-0", line["instance"])
	assert.Equal(t, "log", line["type"])
	assert.Equal(t, "1.2.3", line["ver"])
	assert.Equal(t, "Dapr root certificate expiration warning: certificate expires in 2 days and 15 hours", line["msg"])
	ts, err := time.Parse(time.RFC3339Nano, line["time"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), ts, time.Minute)
}

func TestNew_LevelFilters(t *testing.T) {
	var buf bytes.Buffer
	l, err := log.New(log.Options{Level: "warn", Output: zapcore.AddSync(&buf)})
	require.NoError(t, err)
	l.Info("hidden")
	l.Warn("shown")
	assert.NotContains(t, buf.String(), "hidden")
	assert.Contains(t, buf.String(), "shown")
	assert.False(t, strings.HasPrefix(buf.String(), "{"), "console format unless JSON")
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]zapcore.Level{
		"": zapcore.InfoLevel, "info": zapcore.InfoLevel, "debug": zapcore.DebugLevel, "warn": zapcore.WarnLevel,
		"warning": zapcore.WarnLevel, "error": zapcore.ErrorLevel, "fatal": zapcore.FatalLevel,
	} {
		got, err := log.ParseLevel(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := log.ParseLevel("loud")
	assert.ErrorContains(t, err, "loud")
}
