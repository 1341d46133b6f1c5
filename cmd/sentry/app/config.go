package app

import (
	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/sentry"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// newConfigSource follows the Configuration file at path, or gives Dapr's
// defaults when there is none. Either way it logs the settings in force, so
// that an empty file (Dapr's tooling passes one) or one without spec.mtls
// says which defaults apply.
func newConfigSource(path string, lookupEnv func(string) (string, bool), logger *zap.Logger) (sentry.ConfigSource, error) {
	if path == "" {
		logConfig(logger, "No configuration file given: using defaults", config.Default())
		return config.Static(config.Default()), nil
	}
	w, err := config.NewFileWatcher(config.FileWatcherOptions{Path: path, Logger: logger, LookupEnv: lookupEnv})
	if err != nil {
		return nil, err
	}
	msg := "Configuration loaded"
	if c := w.Current(); c.WorkloadCertTTL == config.DefaultWorkloadCertTTL && c.AllowedClockSkew == config.DefaultAllowedClockSkew && len(c.TokenValidators) == 0 {
		msg = "Configuration loaded: it sets nothing for mTLS, using defaults"
	}
	logConfig(logger.With(zap.String("file", path)), msg, w.Current())
	return w, nil
}

func logConfig(logger *zap.Logger, msg string, c config.Config) {
	names := make([]string, len(c.TokenValidators))
	for i, v := range c.TokenValidators {
		names[i] = v.Name
	}
	logger.Info(msg,
		zap.Duration("workloadCertTTL", c.WorkloadCertTTL),
		zap.Duration("allowedClockSkew", c.AllowedClockSkew),
		zap.Strings("tokenValidators", names))
}
