// Package healthz serves liveness and readiness over HTTP.
//
// /healthz answers 200 while the process serves HTTP at all (liveness);
// /readyz answers 200 only when every registered check passes, and 503 with
// the failing checks named otherwise. Components register their checks:
//
//	h := healthz.New()
//	h.AddReadyCheck("sentry-server", srv.Ready)
//	go h.Serve(ctx, "127.0.0.1:8080")
package healthz
