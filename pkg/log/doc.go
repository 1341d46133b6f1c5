// Package log builds trustplane's zap loggers.
//
// In JSON mode every line has the shape of Dapr's control-plane logs, so the
// same log pipelines and alerts keep working:
//
//	{"instance":"sentry-0","level":"warning","msg":"...","scope":"dapr.sentry","time":"2026-11-23T12:00:00.000Z","type":"log","ver":"0.1.0"}
//
// A logger is built once in cmd/ and passed down; components add their scope
// with Named ("dapr.sentry" then "ca" gives "dapr.sentry.ca"). Field key
// constants for structured values live here too. Never log tokens, private
// keys or raw CSRs.
package log
