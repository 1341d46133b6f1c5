// Package accessreview asks the API server, once at start, what the
// calling identity's RBAC allows, so that a component can turn a feature
// off (or fall back) with one warning naming the missing rules, instead of
// reacting to Forbidden answers one request at a time. Sentry
// (cmd/sentry/app/rbac.go) and the injector (pkg/injector/server) use it.
//
// Each Access is reviewed with one SelfSubjectAccessReview, which every
// authenticated identity may create; the reviews of one Check run at once.
// A Feature names the accesses it needs, what happens without them and
// what grants them; Check logs one warning per Feature that is off and one
// error naming the missing accesses a component cannot work without.
//
//	review, err := accessreview.SelfSubjectAccessReviews(restConfig)
//	var watch bool
//	accessreview.Check(ctx, review, []accessreview.Feature{{
//		Off:       "Polling the Configuration instead of watching it",
//		Needs:     accessreview.Verbs(accessreview.Access{Group: "dapr.io", Resource: "configurations", Namespace: ns, Name: "daprsystem"}, "list", "watch"),
//		Instead:   "it is read every 10s instead",
//		GrantedBy: "granted by the Role dapr-injector of config/rbac/injector.yaml",
//		On:        &watch,
//	}}, nil, "the injector", "granted by config/rbac/injector.yaml", logger)
//
// Asking first decides before any informer starts (client-go retries and
// logs a forbidden list forever), keeps refused calls out of the API
// server's audit log, and is all or nothing. A rule granted or revoked
// later takes effect at the next start.
package accessreview
