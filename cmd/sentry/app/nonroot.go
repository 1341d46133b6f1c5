package app

import (
	"errors"

	"go.uber.org/zap"
)

// EnvSkipUIDGIDCheck, set to "true", lets Sentry run as root in Kubernetes
// mode, as it does Dapr's.
const EnvSkipUIDGIDCheck = "DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK"

// errRunAsRoot is Sentry's refusal to hold the CA key as root in a pod.
var errRunAsRoot = errors.New("current user UID(0) is root: Sentry must run as a non-root user in Kubernetes " +
	"(the charts' securityContext does so); to override this check, set the environment variable '" +
	EnvSkipUIDGIDCheck + "=true'")

// checkNotRoot refuses, like Dapr's control plane, to run in Kubernetes mode
// with effective user ID 0 unless EnvSkipUIDGIDCheck is "true" (exactly, as
// Dapr reads it). Self-hosted it allows anything.
func checkNotRoot(mode string, euid int, lookupEnv func(string) (string, bool), logger *zap.Logger) error {
	if mode != ModeKubernetes {
		return nil
	}
	if v, _ := lookupEnv(EnvSkipUIDGIDCheck); v == "true" {
		logger.Warn("Skipping container UID/GID check due to env override")
		return nil
	}
	if euid == 0 {
		return errRunAsRoot
	}
	logger.Info("Running in Kubernetes environment as a non-root user", zap.Int("uid", euid))
	return nil
}
