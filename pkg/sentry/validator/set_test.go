package validator_test

import (
	"errors"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/sentry/validator/fake"
)

func TestSet(t *testing.T) {
	ins := fake.Granting(spiffeid.RequireFromString("spiffe://public/ns/a/b"))
	jw := fake.Granting(spiffeid.RequireFromString("spiffe://public/ns/a/c"))

	withDefault, err := validator.NewSet(map[validator.Name]validator.Validator{validator.Insecure: ins}, validator.Insecure)
	require.NoError(t, err)
	v, name, err := withDefault.Get("")
	require.NoError(t, err)
	assert.Same(t, ins, v, "no name selects the default")
	assert.Equal(t, validator.Insecure, name)
	_, _, err = withDefault.Get(validator.JWKS)
	assert.True(t, errors.Is(err, validator.ErrNotEnabled))

	noDefault, err := validator.NewSet(map[validator.Name]validator.Validator{validator.JWKS: jw}, "")
	require.NoError(t, err)
	_, _, err = noDefault.Get("")
	assert.True(t, errors.Is(err, validator.ErrNoDefault))
	v, _, err = noDefault.Get(validator.JWKS)
	require.NoError(t, err)
	assert.Same(t, jw, v)
	assert.Equal(t, []validator.Name{validator.JWKS}, noDefault.Names())

	_, err = validator.NewSet(map[validator.Name]validator.Validator{validator.JWKS: jw}, validator.Insecure)
	assert.Error(t, err, "the default must be enabled")
}
