package daprbin_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/test/daprbin"
)

func TestDaprdDir(t *testing.T) {
	t.Run("DAPRD_BIN overrides", func(t *testing.T) {
		t.Setenv(daprbin.DaprdEnv, "/somewhere/else")
		assert.Equal(t, "/somewhere/else", daprbin.DaprdDir())
	})
	t.Run("default is the user cache directory, as hack/daprd-assets.sh", func(t *testing.T) {
		t.Setenv(daprbin.DaprdEnv, "")
		base, err := os.UserCacheDir()
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(base, "trustplane", "daprd-1.18.2"), daprbin.DaprdDir())
	})
}

func TestDaprdMissingFailsNamingTheTarget(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(daprbin.DaprdEnv, dir)

	msg := fatal(t, func(tb testing.TB) { daprbin.Daprd(tb) })
	assert.Contains(t, msg, "make daprd")
	assert.Contains(t, msg, filepath.Join(dir, "daprd"))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "daprd"), []byte("x"), 0o644))
	msg = fatal(t, func(tb testing.TB) { daprbin.Daprd(tb) })
	assert.Contains(t, msg, "not an executable file")
	assert.Contains(t, msg, "make daprd")

	require.NoError(t, os.Chmod(filepath.Join(dir, "daprd"), 0o755))
	assert.Equal(t, filepath.Join(dir, "daprd"), daprbin.Daprd(t))
}
