package app

import (
	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/sentry"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// newConfigSource follows the Configuration file at path, or gives Dapr's
// defaults when there is none.
func newConfigSource(path string, lookupEnv func(string) (string, bool), logger *zap.Logger) (sentry.ConfigSource, error) {
	if path == "" {
		logger.Info("No configuration file given: using defaults",
			zap.Duration("workloadCertTTL", config.DefaultWorkloadCertTTL),
			zap.Duration("allowedClockSkew", config.DefaultAllowedClockSkew))
		return config.Static(config.Default()), nil
	}
	return config.NewFileWatcher(config.FileWatcherOptions{Path: path, Logger: logger, LookupEnv: lookupEnv})
}
