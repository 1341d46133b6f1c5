// Package healthz serves liveness and readiness over HTTP.
//
// /livez answers 200 while the process serves HTTP at all (liveness);
// /healthz and /readyz answer 200 only when every registered check passes,
// and 503 with the failing checks named otherwise. /healthz has Dapr's
// meaning (every server listening, everything ready): Dapr's chart probes
// it for both liveness and readiness, and Dapr's tooling waits on it. Components register their checks:
//
//	h := healthz.New()
//	h.AddReadyCheck("sentry-server", srv.Ready)
//	go h.Serve(ctx, "127.0.0.1:8080")
//
// Serve and ServeListener (also used for the metrics endpoint) bound what
// a client can make the server hold with DefaultServerLimits: header,
// read, write and keep-alive idle timeouts, and 8 KiB of headers;
// ServeServer takes other limits.
package healthz
