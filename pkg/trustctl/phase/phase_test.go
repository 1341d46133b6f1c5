package phase_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/trustplane/trustplane/pkg/trustctl/phase"
)

func TestRefuse(t *testing.T) {
	ok := phase.Check{Name: "anchors", OK: true}
	wait := phase.Check{Name: "delay", Detail: "wait 3s"}

	assert.NoError(t, phase.Refuse("switch-issuer", []phase.Check{ok}), "all checks hold")
	assert.True(t, phase.AllOK([]phase.Check{ok}))
	assert.False(t, phase.AllOK([]phase.Check{ok, wait}))

	err := phase.Refuse("switch-issuer", []phase.Check{ok, wait})
	assert.True(t, errors.Is(err, phase.ErrNotReady))
	assert.ErrorContains(t, err, "switch-issuer")
	assert.ErrorContains(t, err, "delay: wait 3s")
	assert.NotContains(t, err.Error(), "anchors", "only failing checks are listed")
}

func TestDelay(t *testing.T) {
	assert.Negative(t, phase.Delay(0), "a 0 flag means no delay, which options spell negative")
	assert.Equal(t, time.Minute, phase.Delay(time.Minute))
}
