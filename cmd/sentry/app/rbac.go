//go:build !standalone

package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/accessreview"
)

// Sentry asks the apiserver once, at start, what its RBAC allows: one
// SelfSubjectAccessReview (which every authenticated identity may create)
// per rule, all at once. A feature whose rules are missing (Dapr's chart
// grants less than trustplane's config/rbac/sentry.yaml) is turned off or
// falls back, with one warning line naming the missing rules and what
// grants them:
//
//   - list, watch of the trust bundle Secret: the store polls it by GET;
//   - list, watch of the trust anchors ConfigMap: the store polls it too;
//   - create, patch of Events: Events are dropped (their content is logged);
//   - the anchors distributor's ClusterRole rules (pods list, watch;
//     configmaps named dapr-trust-bundle list, watch, update; configmaps
//     create): no distributor.
//
// Asking first, rather than reacting to Forbidden, decides before any
// informer starts (client-go retries and logs a forbidden list forever),
// keeps refused calls out of the apiserver's audit log, and is all or
// nothing (the distributor never serves some namespaces and not others).
// The rules Sentry cannot work without are reviewed in the same batch and,
// when missing, named in one error line; they change nothing else. A rule
// granted or revoked later takes effect at the next start; a call refused
// meanwhile is reported once where it is made. Creating the Secret or the
// ConfigMap is not reviewed: it is needed only when they are absent (Dapr's
// chart creates both), so a refused create is reported when it happens.

const (
	// secretPollInterval is how often the trust bundle Secret (or
	// ConfigMap) is read when RBAC does not allow watching it.
	secretPollInterval = 10 * time.Second
	// grantedByRole and grantedByClusterRole say where the optional
	// rules come from.
	grantedByRole        = "granted by the Role dapr-sentry of config/rbac/sentry.yaml, which trustplane's chart always installs"
	grantedByClusterRole = "granted by the ClusterRole dapr-sentry of config/rbac/sentry.yaml, which trustplane's chart always installs"
	// grantedRequired says what grants the rules Sentry cannot work without.
	grantedRequired = "granted by config/rbac/sentry.yaml, which trustplane's chart always installs, " +
		"and by Dapr's chart unless global.rbac.namespaced is true"
)

type access = accessreview.Access

// permissions are Sentry's optional rights, as the apiserver answered.
type permissions struct {
	watchSecret, watchConfigMap, events, anchors bool
}

// features are the optional parts of Kubernetes mode, answering into p.
func (p *permissions) features(namespace, secret, configMap string) []accessreview.Feature {
	poll := fmt.Sprintf("it is read every %s instead, so a change takes up to that long to apply", secretPollInterval)
	return []accessreview.Feature{{
		Off:       "Polling the trust bundle Secret instead of watching it",
		Needs:     accessreview.Verbs(access{Resource: "secrets", Namespace: namespace, Name: secret}, "list", "watch"),
		Instead:   poll,
		GrantedBy: grantedByRole,
		On:        &p.watchSecret,
	}, {
		Off:       "Polling the trust anchors ConfigMap instead of watching it",
		Needs:     accessreview.Verbs(access{Resource: "configmaps", Namespace: namespace, Name: configMap}, "list", "watch"),
		Instead:   poll,
		GrantedBy: grantedByRole,
		On:        &p.watchConfigMap,
	}, {
		Off:       "Kubernetes Events are off",
		Needs:     accessreview.Verbs(access{Resource: "events", Namespace: namespace}, "create", "patch"),
		Instead:   "what they would report is only logged",
		GrantedBy: grantedByRole,
		On:        &p.events,
	}, {
		Off: "Trust anchors are not published to app namespaces",
		Needs: slices.Concat(
			accessreview.Verbs(access{Resource: "pods"}, "list", "watch"),
			accessreview.Verbs(access{Resource: "configmaps", Name: configMap}, "list", "watch", "update"),
			[]access{{Verb: "create", Resource: "configmaps"}}),
		Instead:   "pods get the roots only when injected (DAPR_TRUST_ANCHORS), as with Dapr, and need a restart to trust a root added later",
		GrantedBy: grantedByClusterRole,
		On:        &p.anchors,
	}}
}

// required are the rules Kubernetes mode cannot work without; writing the
// Secret only when Sentry may generate the CA.
func required(o *Options, secret, configMap string) []access {
	secretVerbs := []string{"get"}
	if o.GenerateCA {
		secretVerbs = append(secretVerbs, "update")
	}
	return slices.Concat(
		[]access{{Verb: "create", Group: "authentication.k8s.io", Resource: "tokenreviews"}},
		accessreview.Verbs(access{Resource: "pods"}, "list", "watch"),
		accessreview.Verbs(access{Group: "dapr.io", Resource: "configurations"}, "list", "watch"),
		accessreview.Verbs(access{Group: "dapr.io", Resource: "configurations", Namespace: o.Namespace, Name: o.ConfigFile}, "get", "list", "watch"),
		accessreview.Verbs(access{Resource: "secrets", Namespace: o.Namespace, Name: secret}, secretVerbs...),
		accessreview.Verbs(access{Resource: "configmaps", Namespace: o.Namespace, Name: configMap}, "get", "update"),
	)
}

// checkRBAC asks review about every optional and required rule at once
// (accessreview.Check): one warning per optional feature that is off,
// naming its missing rules and what grants them, and one error listing the
// missing required rules. It returns the optional rights; when the review
// itself fails, every right is assumed (Sentry's behaviour under its own
// RBAC) and that is logged once.
func checkRBAC(ctx context.Context, review accessreview.Reviewer, o *Options, secret, configMap string, logger *zap.Logger) permissions {
	var p permissions
	_ = accessreview.Check(ctx, review, p.features(o.Namespace, secret, configMap), required(o, secret, configMap), "Sentry", grantedRequired, logger)
	return p
}
