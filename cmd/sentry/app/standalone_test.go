//go:build standalone

package app

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The standalone build refuses Kubernetes mode as a usage error, naming
// the build to use instead, before it touches anything.
func TestStandaloneBuild_RefusesKubernetesMode(t *testing.T) {
	var stderr bytes.Buffer
	dir := t.TempDir()
	code := Main(context.Background(), []string{"--mode", "kubernetes", "--issuer-credentials", dir},
		func(string) (string, bool) { return "", false }, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "this is the standalone build of sentry, without Kubernetes support")
	assert.Contains(t, stderr.String(), "full build")
	assert.NoFileExists(t, dir+"/ca.crt", "nothing is written")
}
