//go:build !standalone

package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
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
	// rbacReviewTimeout bounds the start-up access reviews.
	rbacReviewTimeout = 10 * time.Second
	// grantedByRole and grantedByClusterRole say where the optional
	// rules come from.
	grantedByRole        = "granted by the Role dapr-sentry of config/rbac/sentry.yaml, which trustplane's chart always installs"
	grantedByClusterRole = "granted by the ClusterRole dapr-sentry of config/rbac/sentry.yaml, which trustplane's chart always installs"
)

// access is one thing Sentry may or may not do: a verb on a resource in a
// namespace ("" for every namespace), of one named object or of all.
type access struct {
	verb, group, resource, namespace, name string
}

// rule is accesses that differ only by verb, as RBAC would write them.
type rule struct {
	verbs                            []string
	group, resource, namespace, name string
}

// String reads "list, watch on secrets named dapr-trust-bundle in namespace
// dapr-system".
func (r rule) String() string {
	var b strings.Builder
	b.WriteString(strings.Join(r.verbs, ", ") + " on " + r.resource)
	if r.group != "" {
		b.WriteString("." + r.group)
	}
	if r.name != "" {
		b.WriteString(" named " + r.name)
	}
	if r.namespace != "" {
		b.WriteString(" in namespace " + r.namespace)
	} else {
		b.WriteString(" cluster-wide")
	}
	return b.String()
}

// rules groups accesses into rules, in order of first appearance.
func rules(accesses []access) []rule {
	var out []rule
	for _, a := range accesses {
		found := false
		for i := range out {
			r := &out[i]
			if r.group == a.group && r.resource == a.resource && r.namespace == a.namespace && r.name == a.name {
				r.verbs = append(r.verbs, a.verb)
				found = true
				break
			}
		}
		if !found {
			out = append(out, rule{verbs: []string{a.verb}, group: a.group, resource: a.resource, namespace: a.namespace, name: a.name})
		}
	}
	return out
}

func describe(accesses []access) string {
	var parts []string
	for _, r := range rules(accesses) {
		parts = append(parts, r.String())
	}
	return strings.Join(parts, "; ")
}

// permissions are Sentry's optional rights, as the apiserver answered.
type permissions struct {
	watchSecret, watchConfigMap, events, anchors bool
}

// feature is a part of Sentry that works only with some rules.
type feature struct {
	// off is the start of the warning, for example "Kubernetes Events are off".
	off string
	// needs are the rules it needs.
	needs []access
	// instead says what Sentry does without it.
	instead string
	// grantedBy says what grants the rules.
	grantedBy string
	// on is where the answer goes.
	on *bool
}

// features are the optional parts of Kubernetes mode, answering into p.
func (p *permissions) features(namespace, secret, configMap string) []feature {
	poll := fmt.Sprintf("it is read every %s instead, so a change takes up to that long to apply", secretPollInterval)
	return []feature{{
		off:       "Polling the trust bundle Secret instead of watching it",
		needs:     verbs(access{resource: "secrets", namespace: namespace, name: secret}, "list", "watch"),
		instead:   poll,
		grantedBy: grantedByRole,
		on:        &p.watchSecret,
	}, {
		off:       "Polling the trust anchors ConfigMap instead of watching it",
		needs:     verbs(access{resource: "configmaps", namespace: namespace, name: configMap}, "list", "watch"),
		instead:   poll,
		grantedBy: grantedByRole,
		on:        &p.watchConfigMap,
	}, {
		off:       "Kubernetes Events are off",
		needs:     verbs(access{resource: "events", namespace: namespace}, "create", "patch"),
		instead:   "what they would report is only logged",
		grantedBy: grantedByRole,
		on:        &p.events,
	}, {
		off: "Trust anchors are not published to app namespaces",
		needs: slices.Concat(
			verbs(access{resource: "pods"}, "list", "watch"),
			verbs(access{resource: "configmaps", name: configMap}, "list", "watch", "update"),
			[]access{{verb: "create", resource: "configmaps"}}),
		instead:   "pods get the roots only when injected (DAPR_TRUST_ANCHORS), as with Dapr, and need a restart to trust a root added later",
		grantedBy: grantedByClusterRole,
		on:        &p.anchors,
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
		[]access{{verb: "create", group: "authentication.k8s.io", resource: "tokenreviews"}},
		verbs(access{resource: "pods"}, "list", "watch"),
		verbs(access{group: "dapr.io", resource: "configurations"}, "list", "watch"),
		verbs(access{group: "dapr.io", resource: "configurations", namespace: o.Namespace, name: o.ConfigFile}, "get", "list", "watch"),
		verbs(access{resource: "secrets", namespace: o.Namespace, name: secret}, secretVerbs...),
		verbs(access{resource: "configmaps", namespace: o.Namespace, name: configMap}, "get", "update"),
	)
}

func verbs(a access, vs ...string) []access {
	out := make([]access, len(vs))
	for i, v := range vs {
		out[i] = a
		out[i].verb = v
	}
	return out
}

// accessReviewer answers whether Sentry may do each of accesses.
type accessReviewer func(ctx context.Context, accesses []access) ([]bool, error)

// selfSubjectAccessReviews reviews accesses with one SelfSubjectAccessReview
// each, all at once, on a client of their own without a rate limit (they
// are a one-off burst at start).
func selfSubjectAccessReviews(cfg *rest.Config) (accessReviewer, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst, c.RateLimiter = -1, 0, nil
	client, err := authorizationclient.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes authorization client: %w", err)
	}
	return func(ctx context.Context, accesses []access) ([]bool, error) {
		allowed := make([]bool, len(accesses))
		errs := make([]error, len(accesses))
		var wg sync.WaitGroup
		for i, a := range accesses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := client.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
					Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace: a.namespace, Verb: a.verb, Group: a.group, Resource: a.resource, Name: a.name,
					}},
				}, metav1.CreateOptions{})
				if err != nil {
					errs[i] = err
					return
				}
				allowed[i] = res.Status.Allowed && !res.Status.Denied
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return allowed, nil
	}, nil
}

// checkRBAC asks review about every optional and required rule at once,
// logs one warning per optional feature that is off (naming its missing
// rules and what grants them) and one error listing the missing required
// rules, and returns the optional rights. When the review itself fails,
// Sentry assumes every right (its behaviour under its own RBAC) and logs
// that once.
func checkRBAC(ctx context.Context, review accessReviewer, o *Options, secret, configMap string, logger *zap.Logger) permissions {
	var p permissions
	feats := p.features(o.Namespace, secret, configMap)
	req := required(o, secret, configMap)
	var accesses []access
	for _, f := range feats {
		accesses = append(accesses, f.needs...)
	}
	accesses = append(accesses, req...)

	ctx, cancel := context.WithTimeout(ctx, rbacReviewTimeout)
	defer cancel()
	allowed, err := review(ctx, accesses)
	if err != nil {
		logger.Warn("Could not review Sentry's RBAC with SelfSubjectAccessReviews; assuming the rules of config/rbac/sentry.yaml", zap.Error(err))
		return permissions{watchSecret: true, watchConfigMap: true, events: true, anchors: true}
	}
	// missing returns the accesses of as (answered from allowed[at:]) that
	// are not allowed, and moves at past them.
	at := 0
	missing := func(as []access) []access {
		var out []access
		for i, a := range as {
			if !allowed[at+i] {
				out = append(out, a)
			}
		}
		at += len(as)
		return out
	}
	for _, f := range feats {
		m := missing(f.needs)
		*f.on = len(m) == 0
		if len(m) > 0 {
			logger.Warn(fmt.Sprintf("%s: RBAC does not allow %s; %s; %s", f.off, describe(m), f.instead, f.grantedBy))
		}
	}
	if m := missing(req); len(m) > 0 {
		logger.Error(fmt.Sprintf("Sentry lacks RBAC it cannot work without: %s; granted by config/rbac/sentry.yaml, which trustplane's chart always installs, "+
			"and by Dapr's chart unless global.rbac.namespaced is true", describe(m)))
	}
	return p
}
