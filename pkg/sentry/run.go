package sentry

import (
	"context"
	"fmt"
	"sync"
)

// runnable is a long-running part: Start blocks until ctx is done and
// returns nil then, or returns an error when it cannot go on.
type runnable struct {
	name  string
	start func(ctx context.Context) error
}

// runAll starts every runnable and waits for all of them. The first one to
// fail (or to return early) cancels the rest; its error is returned.
func runAll(ctx context.Context, rs ...runnable) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for _, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.start(ctx)
			if err == nil && ctx.Err() == nil {
				err = fmt.Errorf("%s stopped unexpectedly", r.name)
			}
			if err != nil {
				once.Do(func() { firstErr = fmt.Errorf("%s: %w", r.name, err) })
				cancel()
			}
		}()
	}
	wg.Wait()
	return firstErr
}
