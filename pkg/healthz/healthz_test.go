package healthz_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/healthz"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, string(body)
}

func TestHandler(t *testing.T) {
	h := healthz.New()
	ready := errors.New("still loading")
	h.AddReadyCheck("grpc", func() error { return nil })
	h.AddReadyCheck("jwks", func() error { return ready })

	code, _ := get(t, h, "/livez")
	assert.Equal(t, http.StatusOK, code, "liveness does not depend on readiness")

	for _, path := range []string{"/readyz", "/healthz"} {
		code, body := get(t, h, path)
		assert.Equal(t, http.StatusServiceUnavailable, code, "%s has Dapr's meaning: ready", path)
		assert.Contains(t, body, "jwks: still loading", "the failing check is named")
		assert.NotContains(t, body, "grpc")
	}

	ready = nil
	for _, path := range []string{"/readyz", "/healthz"} {
		code, _ = get(t, h, path)
		assert.Equal(t, http.StatusOK, code, "%s: ready once every check passes", path)
	}

	code, _ = get(t, h, "/nope")
	assert.Equal(t, http.StatusNotFound, code)
}
