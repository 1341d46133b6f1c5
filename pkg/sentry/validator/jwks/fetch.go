package jwks

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// firstRetry is the wait after a failed fetch while no set is loaded yet;
// it doubles up to MinRefreshInterval.
const firstRetry = time.Second

// runURL fetches the key set, then again every MinRefreshInterval, until
// ctx is done.
func (v *Validator) runURL(ctx context.Context) {
	retry := firstRetry
	for {
		wait := v.opts.MinRefreshInterval
		if err := v.fetch(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !v.Ready() {
				wait, retry = min(retry, wait), min(2*retry, wait)
			}
			v.logger.Warn("Failed to fetch JWKS; keeping the last good key set",
				zap.String("url", v.src.url.Redacted()), zap.Bool("ready", v.Ready()),
				zap.Duration("retry_in", wait), zap.Error(err))
		} else {
			retry = firstRetry
		}
		t := v.ticker.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// fetch downloads, parses and stores the key set once.
func (v *Validator) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, v.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.src.url.String(), nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("get JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxKeySetSize))
		return fmt.Errorf("get JWKS: status %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "text/html" {
			return fmt.Errorf("get JWKS: content type %s is not JSON", mt)
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetSize+1))
	if err != nil {
		return fmt.Errorf("read JWKS: %w", err)
	}
	if len(body) > maxKeySetSize {
		return fmt.Errorf("read JWKS: larger than %d bytes", maxKeySetSize)
	}
	set, err := parseKeySet(body)
	if err != nil {
		return err
	}
	v.store(set, zap.String("url", v.src.url.Redacted()))
	return nil
}
