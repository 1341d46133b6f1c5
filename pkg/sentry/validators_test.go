package sentry

import (
	"context"
	"errors"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

const inlineJWKS = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`

func TestValidators_Apply(t *testing.T) {
	v := &validators{sentryID: spiffeid.RequireFromString("spiffe://cluster.local/ns/default/dapr-sentry"), logger: zap.NewNop()}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); v.wait() }()

	require.NoError(t, v.apply(ctx, nil))
	assert.Equal(t, []validator.Name{validator.Insecure}, v.Get().Names(), "no configured validator: insecure")
	assert.Equal(t, validator.Insecure, v.Get().Default())
	require.NoError(t, v.ready())

	jwks := []config.TokenValidator{{Name: "jwks", Options: map[string]string{"source": inlineJWKS}}}
	require.NoError(t, v.apply(ctx, jwks))
	assert.Equal(t, []validator.Name{validator.JWKS}, v.Get().Names(), "once jwks is configured, insecure is off")
	_, _, err := v.Get().Get("")
	assert.True(t, errors.Is(err, validator.ErrNoDefault), "and requests must name their validator")
	require.Eventually(t, func() bool { return v.ready() == nil }, testTimeout, testTick, "inline keys load at once")

	before := v.Get()
	require.NoError(t, v.apply(ctx, jwks))
	assert.Same(t, before, v.Get(), "an unchanged configuration keeps the running validators")

	err = v.apply(ctx, []config.TokenValidator{{Name: "jwks", Options: map[string]string{"source": ""}}})
	require.Error(t, err, "a broken validator configuration is refused")
	assert.Same(t, before, v.Get(), "and the validators in force stay")

	require.NoError(t, v.apply(ctx, nil))
	assert.Equal(t, validator.Insecure, v.Get().Default(), "removing tokenValidators brings insecure back")
}

// platform is a PlatformValidator for tests.
type platform struct {
	validator.Validator
	ready bool
}

func (p *platform) Name() validator.Name            { return validator.Kubernetes }
func (p *platform) Start(ctx context.Context) error { <-ctx.Done(); return nil }
func (p *platform) Ready() bool                     { return p.ready }

func TestValidators_PlatformIsAlwaysOnAndTheDefault(t *testing.T) {
	p := &platform{Validator: validator.Func(func(context.Context, validator.Request) (spiffeid.ID, error) {
		return spiffeid.ID{}, errors.New("unused")
	})}
	v := &validators{sentryID: spiffeid.RequireFromString("spiffe://cluster.local/ns/default/dapr-sentry"), platform: p, logger: zap.NewNop()}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); v.wait() }()

	require.NoError(t, v.apply(ctx, nil))
	assert.Equal(t, []validator.Name{validator.Kubernetes}, v.Get().Names(), "no insecure validator in Kubernetes mode")
	assert.Equal(t, validator.Kubernetes, v.Get().Default())
	assert.Error(t, v.ready(), "not ready until the platform validator is")
	p.ready = true
	assert.NoError(t, v.ready())

	require.NoError(t, v.apply(ctx, []config.TokenValidator{{Name: "jwks", Options: map[string]string{"source": inlineJWKS}}}))
	assert.Equal(t, []validator.Name{validator.JWKS, validator.Kubernetes}, v.Get().Names(), "jwks is added beside it")
	assert.Equal(t, validator.Kubernetes, v.Get().Default(), "and kubernetes stays the default")
}
