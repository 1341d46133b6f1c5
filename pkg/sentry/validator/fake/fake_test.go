package fake_test

import (
	"errors"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/sentry/validator/fake"
)

func TestGrantingReturnsTheIDAndRecords(t *testing.T) {
	id := spiffeid.RequireFromString("spiffe://public/ns/default/orders")
	v := fake.Granting(id)
	req := validator.Request{AppID: "orders", Namespace: "default", Token: "t"}

	got, err := v.Validate(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, id, got)
	assert.Equal(t, []validator.Request{req}, v.Requests())
}

func TestDenyingReturnsTheError(t *testing.T) {
	denied := errors.New("denied")
	v := fake.Denying(denied)

	got, err := v.Validate(t.Context(), validator.Request{AppID: "a"})
	require.ErrorIs(t, err, denied)
	assert.True(t, got.IsZero())
	assert.Len(t, v.Requests(), 1)
}
