package sentry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

const (
	testTimeout = 5 * time.Second
	testTick    = 10 * time.Millisecond
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func block(ctx context.Context) error { <-ctx.Done(); return nil }

func TestRunAll(t *testing.T) {
	t.Run("a cancelled context stops every part gracefully", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- runAll(ctx, runnable{"a", block}, runnable{"b", block}) }()
		cancel()
		assert.NoError(t, <-done)
	})
	t.Run("the first failure stops the rest and is returned", func(t *testing.T) {
		boom := errors.New("boom")
		err := runAll(t.Context(), runnable{"a", block}, runnable{"b", func(context.Context) error { return boom }})
		assert.ErrorIs(t, err, boom)
		assert.ErrorContains(t, err, "b: boom")
	})
	t.Run("a part that returns early is a failure", func(t *testing.T) {
		err := runAll(t.Context(), runnable{"a", block}, runnable{"quitter", func(context.Context) error { return nil }})
		assert.ErrorContains(t, err, "quitter stopped unexpectedly")
	})
}
