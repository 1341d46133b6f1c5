package server

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/clock"

	sentryconfig "github.com/trustplane/trustplane/pkg/sentry/config"
)

// configLoader is the part of the Configuration source the poller drives
// (pkg/sentry/config/kubernetes.Source).
type configLoader interface {
	// Load reads the Configuration and makes it current; it logs what it
	// loads or rejects, once per resourceVersion.
	Load(ctx context.Context) error
}

// configGetter reads the Configuration object.
type configGetter interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error)
}

// pollConfiguration keeps src current by reading the Configuration name
// every interval, for an injector whose RBAC allows get but not list and
// watch on it (Dapr's). An object whose resourceVersion changed is loaded
// into src; a deleted one keeps the configuration in force, as the watch
// does. Each run of failures is one warning. It returns nil when ctx is
// done.
func pollConfiguration(ctx context.Context, src configLoader, get configGetter, name string, clk clock.WithTicker, interval time.Duration, logger *zap.Logger) error {
	ticker := clk.NewTicker(interval)
	defer ticker.Stop()
	var lastRV string
	var failing, missing bool
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
		}
		u, err := get.Get(ctx, name, metav1.GetOptions{})
		switch {
		case ctx.Err() != nil:
			return nil
		case apierrors.IsNotFound(err):
			failing, lastRV = false, ""
			if !missing {
				logger.Warn("Configuration not found; keeping the configuration in force until it is created again")
			}
			missing = true
		case err != nil:
			if failing {
				logger.Debug("Reading the Configuration failed again; retrying", zap.Error(err))
			} else {
				logger.Warn("Reading the Configuration failed; retrying", zap.Duration("every", interval), zap.Error(err))
			}
			failing = true
		default:
			failing, missing = false, false
			if u.GetResourceVersion() == lastRV {
				continue
			}
			lastRV = u.GetResourceVersion()
			// Load logs an invalid object itself, once per version.
			if err := src.Load(ctx); err != nil && !errors.Is(err, sentryconfig.ErrInvalid) && ctx.Err() == nil {
				logger.Warn("Reading the Configuration failed; retrying", zap.Error(err))
				lastRV = ""
			}
		}
	}
}
